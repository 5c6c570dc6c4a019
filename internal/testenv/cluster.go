package testenv

import (
	"context"
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisClusterGroup is a Redis Cluster of three masters, each with one
// replica, all real redis-server processes on loopback ports (no
// persistence), created by redis-cli --cluster create. A master that
// stops answering is declared failed after 1 s (cluster-node-timeout
// 1000) and its replica promoted.
type RedisClusterGroup struct {
	mu     sync.Mutex
	nodes  map[string]*RedisProcess // by host:port
	order  []string                 // start order: masters first
	killed time.Time                // of the last KillMasterOf
}

// clusterNodeTimeout is the nodes' cluster-node-timeout.
const clusterNodeTimeout = time.Second

// RedisCluster starts a RedisClusterGroup for the test (stopped at its
// end) and waits until every node reports cluster_state:ok and every
// replica is in sync with its master.
func RedisCluster(t testing.TB) *RedisClusterGroup {
	t.Helper()
	LookPath(t, "redis-server")
	LookPath(t, "redis-cli")
	c, err := StartRedisCluster()
	if err != nil {
		t.Fatalf("starting a redis cluster: %v", err)
	}
	t.Cleanup(c.Stop)
	return c
}

// StartRedisCluster is RedisCluster outside a test (benchmark programs):
// the nodes die with the calling process; Stop ends them earlier.
func StartRedisCluster() (*RedisClusterGroup, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server is not installed: run `%s`", installHint["redis-server"])
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		return nil, fmt.Errorf("redis-cli is not installed: run `%s`", installHint["redis-cli"])
	}
	c := &RedisClusterGroup{nodes: map[string]*RedisProcess{}}
	for i := range 6 {
		n, err := startRedisProcess(bin, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", itoa(int(clusterNodeTimeout/time.Millisecond)),
			"--cluster-replica-validity-factor", "0", "--appendonly", "no")
		if err != nil {
			c.Stop()
			return nil, fmt.Errorf("starting node %d: %w", i, err)
		}
		c.nodes[n.Addr] = n
		c.order = append(c.order, n.Addr)
	}
	args := append([]string{"--cluster", "create"}, c.order...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		c.Stop()
		return nil, fmt.Errorf("redis-cli --cluster create: %w: %s", err, out)
	}
	if err := c.waitHealthy(30 * time.Second); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// Addrs returns the host:port of the nodes that run, for a client's seed
// list.
func (c *RedisClusterGroup) Addrs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, a := range c.order {
		if _, ok := c.nodes[a]; ok {
			out = append(out, a)
		}
	}
	return out
}

// Client returns a cluster client of the group (closed at the test's end),
// with command deadlines from the context. It refreshes its slot map
// every 500 ms (go-redis: every 60 s, or on MOVED), so it finds a
// promoted replica on its own; internal/redisclient's clients refresh it
// after a failed command instead.
func (c *RedisClusterGroup) Client(t testing.TB) *redis.ClusterClient {
	t.Helper()
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs(), ContextTimeoutEnabled: true,
		ClusterStateReloadInterval: 500 * time.Millisecond, DialTimeout: time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// Flush empties every master (FLUSHALL), for tests that share a group.
func (c *RedisClusterGroup) Flush(ctx context.Context) error {
	for _, a := range c.Addrs() {
		n := redis.NewClient(&redis.Options{Addr: a, DialTimeout: time.Second, ReadTimeout: 5 * time.Second})
		role, err := n.Do(ctx, "ROLE").Slice()
		if err == nil && len(role) > 0 && role[0] == "master" {
			err = n.FlushAll(ctx).Err()
		}
		n.Close()
		if err != nil {
			return fmt.Errorf("flushing %s: %w", a, err)
		}
	}
	return nil
}

// MasterOf returns the address of the master serving key's hash slot.
func (c *RedisClusterGroup) MasterOf(t testing.TB, key string) string {
	t.Helper()
	addr, err := c.masterOf(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

func (c *RedisClusterGroup) masterOf(ctx context.Context, key string) (string, error) {
	for _, a := range c.Addrs() {
		n := redis.NewClient(&redis.Options{Addr: a, DialTimeout: time.Second, ReadTimeout: time.Second})
		slot, err := n.ClusterKeySlot(ctx, key).Result()
		var slots []redis.ClusterSlot
		if err == nil {
			slots, err = n.ClusterSlots(ctx).Result()
		}
		n.Close()
		if err != nil {
			continue
		}
		for _, s := range slots {
			if int64(s.Start) <= slot && slot <= int64(s.End) && len(s.Nodes) > 0 {
				return s.Nodes[0].Addr, nil
			}
		}
	}
	return "", fmt.Errorf("no node of the cluster names the master of %q", key)
}

// FailMaster SIGKILLs the master serving key's hash slot (no shutdown, no
// last save) and waits until its replica is promoted and the cluster is
// ok again (KillMasterOf, then WaitPromoted); it returns the killed
// master's address and how long the slot had no master. The killed node
// stays down.
func (c *RedisClusterGroup) FailMaster(t testing.TB, key string) (string, time.Duration) {
	t.Helper()
	addr := c.KillMasterOf(t, key)
	return addr, c.WaitPromoted(t, key, addr)
}

// KillMasterOf SIGKILLs the master serving key's hash slot and returns
// its address, without waiting for the promotion of its replica.
func (c *RedisClusterGroup) KillMasterOf(t testing.TB, key string) string {
	t.Helper()
	addr := c.MasterOf(t, key)
	c.mu.Lock()
	n := c.nodes[addr]
	delete(c.nodes, addr)
	c.killed = time.Now()
	c.mu.Unlock()
	n.Kill()
	n.Stop()
	return addr
}

// WaitPromoted waits until a node other than old serves key's slot and
// every running node reports cluster_state:ok; it returns the time since
// the last KillMasterOf.
func (c *RedisClusterGroup) WaitPromoted(t testing.TB, key, old string) time.Duration {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if now, err := c.masterOf(ctx, key); err == nil && now != old && c.healthy(ctx, false) == nil {
			c.mu.Lock()
			defer c.mu.Unlock()
			return time.Since(c.killed)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no replica took over the slots of %s within 30s", old)
	return 0
}

// waitHealthy waits until every node reports cluster_state:ok and knows
// every other, and every replica's link to its master is up.
func (c *RedisClusterGroup) waitHealthy(timeout time.Duration) error {
	ctx := context.Background()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = c.healthy(ctx, true); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("redis cluster not healthy within %s: %w", timeout, err)
}

// healthy checks every running node: cluster_state:ok and, with
// replicas, a replica's link to its master up.
func (c *RedisClusterGroup) healthy(ctx context.Context, replicas bool) error {
	addrs := c.Addrs()
	for _, a := range addrs {
		n := redis.NewClient(&redis.Options{Addr: a, DialTimeout: time.Second, ReadTimeout: time.Second})
		info, err := n.ClusterInfo(ctx).Result()
		var repl string
		if err == nil && replicas {
			repl, err = n.Info(ctx, "replication").Result()
		}
		n.Close()
		switch {
		case err != nil:
			return fmt.Errorf("node %s: %w", a, err)
		case !strings.Contains(info, "cluster_state:ok"):
			return fmt.Errorf("node %s: cluster state not ok", a)
		case !strings.Contains(info, "cluster_known_nodes:"+itoa(len(addrs))) && replicas:
			return fmt.Errorf("node %s does not know all %d nodes yet", a, len(addrs))
		case strings.Contains(repl, "role:slave") && !strings.Contains(repl, "master_link_status:up"):
			return fmt.Errorf("replica %s is not in sync", a)
		}
	}
	return nil
}

// Stop kills every node and removes their directories.
func (c *RedisClusterGroup) Stop() {
	c.mu.Lock()
	nodes := c.nodes
	c.nodes = map[string]*RedisProcess{}
	c.mu.Unlock()
	for _, a := range slices.Sorted(maps.Keys(nodes)) {
		nodes[a].Stop()
	}
}
