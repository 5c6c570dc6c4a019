package redisclient

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flinkferry/flinkferry/internal/testenv"
)

// TestClusterFollowsFailover runs a client on a real three-master Redis
// Cluster, SIGKILLs the master of a key's slot and checks that the same
// client writes that slot again on the promoted replica, well before
// go-redis's own periodic reload of the slot map would have found it.
func TestClusterFollowsFailover(t *testing.T) {
	g := testenv.RedisCluster(t)
	ctx := context.Background()
	c, err := New(ctx, Config{URL: "redis:///0", Timeout: time.Second, ClusterAddrs: g.Addrs()[:1]})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.(*redis.ClusterClient); !ok {
		t.Fatalf("New() = %T, want a cluster client", c)
	}
	for i := range 100 {
		if err := c.Set(ctx, fmt.Sprintf("k%d", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	old := g.KillMasterOf(t, "k0")
	promoted := g.WaitPromoted(t, "k0", old)
	var lastErr error
	start := time.Now()
	for time.Since(start) < 30*time.Second {
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		lastErr = c.Set(wctx, "k0", "after", 0).Err()
		cancel()
		if lastErr == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if lastErr != nil {
		t.Fatalf("no write to k0's slot within 30s of the promotion: %v", lastErr)
	}
	took := time.Since(start)
	t.Logf("replica promoted %s after the kill; the client wrote k0's slot %s later", promoted.Round(time.Millisecond), took.Round(time.Millisecond))
	if took > clusterReloadInterval {
		t.Errorf("the client found the promoted replica after %s, want < %s", took, clusterReloadInterval)
	}
}

func TestValidateCluster(t *testing.T) {
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{URL: "redis:///0", Timeout: time.Second, ClusterAddrs: []string{"nohost"}}, "CLUSTER_ADDRS: \"nohost\" is not host:port"},
		{Config{URL: "redis:///3", Timeout: time.Second, ClusterAddrs: []string{"a:7000"}}, "database 0 only"},
		{Config{URL: "redis:///0", Timeout: time.Second, ClusterAddrs: []string{"a:7000"}, SentinelMaster: "m", SentinelAddrs: []string{"s:26379"}}, "not both"},
	} {
		err := tt.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
	ok := Config{URL: "rediss://:pw@ignored:6379/0", Timeout: time.Second, ClusterAddrs: []string{"a:7000", "b:7001"}}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid cluster config: %v", err)
	}
	for _, tt := range []struct {
		cfg  Config
		want Mode
	}{
		{Config{}, ModeSingle},
		{Config{SentinelMaster: "m"}, ModeSentinel},
		{Config{ClusterAddrs: []string{"a:1"}}, ModeCluster},
	} {
		if got := tt.cfg.Mode(); got != tt.want {
			t.Errorf("Mode(%+v) = %s, want %s", tt.cfg, got, tt.want)
		}
	}
}
