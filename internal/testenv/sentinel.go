package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelGroup is a Redis master with one replica watched by three
// Sentinels (quorum 2), all real redis-server processes on loopback
// ports: the Redis deployment users run for a master without a single
// point of failure.
type SentinelGroup struct {
	// Master is the name the Sentinels monitor.
	Master string
	// Sentinels are the Sentinels' host:port.
	Sentinels []string
	// Data are the master's and the replica's host:port at the start.
	Data  []string
	nodes map[string]*RedisProcess // by host:port
}

// Sentinel starts a SentinelGroup for the test (stopped at its end) and
// waits until every Sentinel knows the master and its replica. Sentinels
// declare the master down after 500 ms without an answer.
func Sentinel(t testing.TB) *SentinelGroup {
	t.Helper()
	LookPath(t, "redis-server")
	g, err := StartSentinel()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Stop)
	return g
}

// StartSentinel is Sentinel outside a test (benchmark programs): the
// processes die with the calling process; Stop ends them earlier.
func StartSentinel() (*SentinelGroup, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server is not installed: run `%s`", installHint["redis-server"])
	}
	g := &SentinelGroup{Master: "flinkferry", nodes: map[string]*RedisProcess{}}
	master, err := startRedisProcess(bin)
	if err != nil {
		return nil, fmt.Errorf("starting the master: %w", err)
	}
	g.nodes[master.Addr] = master
	g.Data = append(g.Data, master.Addr)
	host, port, _ := net.SplitHostPort(master.Addr)
	replica, err := startRedisProcess(bin, "--replicaof", host, port)
	if err != nil {
		g.Stop()
		return nil, fmt.Errorf("starting the replica: %w", err)
	}
	g.nodes[replica.Addr] = replica
	g.Data = append(g.Data, replica.Addr)
	for i := range 3 {
		addr, err := g.startSentinel(bin, i, master.Addr)
		if err != nil {
			g.Stop()
			return nil, fmt.Errorf("starting sentinel %d: %w", i, err)
		}
		g.Sentinels = append(g.Sentinels, addr)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, s := range g.Sentinels {
		for !g.knowsReplica(s, replica.Addr) {
			if time.Now().After(deadline) {
				g.Stop()
				return nil, fmt.Errorf("sentinel %s does not know the replica %s within 30s", s, replica.Addr)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return g, nil
}

// knowsReplica reports whether Sentinel s lists addr as a healthy replica
// of the master.
func (g *SentinelGroup) knowsReplica(s, addr string) bool {
	c := redis.NewSentinelClient(&redis.Options{Addr: s, DialTimeout: time.Second, ReadTimeout: time.Second})
	defer c.Close()
	replicas, err := c.Replicas(context.Background(), g.Master).Result()
	if err != nil {
		return false
	}
	for _, r := range replicas {
		if net.JoinHostPort(r["ip"], r["port"]) == addr && !strings.Contains(r["flags"], "down") &&
			r["master-link-status"] == "ok" {
			return true
		}
	}
	return false
}

func (g *SentinelGroup) startSentinel(bin string, i int, master string) (string, error) {
	dir, err := os.MkdirTemp("", "flinkferry-sentinel-")
	if err != nil {
		return "", err
	}
	host, port, _ := net.SplitHostPort(master)
	for range 5 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		sport := l.Addr().(*net.TCPAddr).Port
		l.Close()
		conf := filepath.Join(dir, fmt.Sprintf("sentinel-%d.conf", i))
		body := fmt.Sprintf("bind 127.0.0.1\nport %d\nprotected-mode no\ndir %s\nloglevel warning\n"+
			"sentinel monitor %s %s %s 2\nsentinel down-after-milliseconds %s 500\n"+
			"sentinel failover-timeout %s 3000\nsentinel parallel-syncs %s 1\n",
			sport, dir, g.Master, host, port, g.Master, g.Master, g.Master)
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			return "", err
		}
		p, err := startProcess(bin, conf, "--sentinel")
		if err != nil {
			return "", err
		}
		addr := fmt.Sprintf("127.0.0.1:%d", sport)
		if err := waitRedis(p, addr); err != nil {
			p.stop()
			continue
		}
		g.nodes[addr] = &RedisProcess{Addr: addr, p: p, dir: dir}
		return addr, nil
	}
	return "", fmt.Errorf("no free port for sentinel %d", i)
}

// MasterAddr asks the first Sentinel that answers for the master's address.
func (g *SentinelGroup) MasterAddr(t testing.TB) string {
	t.Helper()
	for _, s := range g.Sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: s, DialTimeout: time.Second, ReadTimeout: time.Second})
		hp, err := c.GetMasterAddrByName(context.Background(), g.Master).Result()
		c.Close()
		if err == nil && len(hp) == 2 {
			return net.JoinHostPort(hp[0], hp[1])
		}
	}
	t.Fatalf("no sentinel of %v answers for master %s", g.Sentinels, g.Master)
	return ""
}

// KillMaster SIGKILLs the current master (no shutdown, no last save) and
// returns its address; the Sentinels then promote the replica.
func (g *SentinelGroup) KillMaster(t testing.TB) string {
	t.Helper()
	addr := g.MasterAddr(t)
	n, ok := g.nodes[addr]
	if !ok {
		t.Fatalf("master %s is not a node of the group", addr)
	}
	n.Kill()
	return addr
}

// Stop kills every process of the group and removes their directories.
func (g *SentinelGroup) Stop() {
	for _, n := range g.nodes {
		n.Stop()
	}
}
