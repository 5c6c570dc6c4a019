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

// TestSentinelFollowsFailover runs a client through three real Sentinels,
// SIGKILLs the master and checks that the same client writes to the
// promoted replica, with what was replicated before the kill still there.
func TestSentinelFollowsFailover(t *testing.T) {
	g := testenv.Sentinel(t)
	ctx := context.Background()
	c, err := New(ctx, Config{
		URL: "redis:///0", Timeout: time.Second,
		SentinelMaster: g.Master, SentinelAddrs: g.Sentinels,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 100 {
		if err := c.Set(ctx, fmt.Sprintf("k%d", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := c.(*redis.Client).Wait(ctx, 1, 5*time.Second).Result(); err != nil || n < 1 {
		t.Fatalf("WAIT 1: %d replicas acknowledged, %v", n, err)
	}

	old := g.KillMaster(t)
	killed := time.Now()
	var lastErr error
	for time.Since(killed) < 30*time.Second {
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		lastErr = c.Set(wctx, "after", "failover", 0).Err()
		cancel()
		if lastErr == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if lastErr != nil {
		t.Fatalf("no write succeeded within 30s of the master's death: %v", lastErr)
	}
	t.Logf("writes resumed %s after the master was killed", time.Since(killed).Round(time.Millisecond))
	if now := g.MasterAddr(t); now == old {
		t.Errorf("sentinels still name the killed master %s", old)
	}
	if n, err := c.Exists(ctx, "k0", "k50", "k99").Result(); err != nil || n != 3 {
		t.Errorf("keys written before the failover: %d of 3 found (%v)", n, err)
	}
}

func TestValidateSentinel(t *testing.T) {
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{URL: "redis:///0", Timeout: time.Second, SentinelMaster: "m"}, "needs SENTINEL_ADDRS"},
		{Config{URL: "redis:///0", Timeout: time.Second, SentinelAddrs: []string{"h:26379"}}, "SENTINEL_MASTER is not"},
		{Config{URL: "redis:///0", Timeout: time.Second, SentinelMaster: "m", SentinelAddrs: []string{"nohost"}}, "not host:port"},
	} {
		err := tt.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
	ok := Config{URL: "redis:///0", Timeout: time.Second, SentinelMaster: "m", SentinelAddrs: []string{"a:26379", "b:26379"}, SentinelPassword: "s3cret"}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid sentinel config: %v", err)
	}
}
