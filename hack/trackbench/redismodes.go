package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flinkferry/flinkferry/internal/testenv"
)

// The -redis option runs the worker methods on other Redis deployments
// than one redis-server: a Sentinel-managed master with a replica
// (three Sentinels) and a Redis Cluster of three masters with a replica
// each, all real redis-server processes on this machine. A child gets its
// deployment as -redis <spec>: host:port, sentinel:<master>@<addrs> or
// cluster:<addrs> (addrs comma-separated).

// redisModes are the deployments -redis accepts, in report order.
var redisModes = []string{"single", "sentinel", "cluster"}

// redisDeployment is one running deployment of a run.
type redisDeployment struct {
	mode string
	spec string                // the children's -redis value
	rdb  redis.UniversalClient // the parent's client
	// masters and data are direct clients of the masters and of every
	// server holding data (masters and replicas; Sentinels excluded).
	masters, data []*redis.Client
	stop          func()
}

// startRedisDeployment starts a deployment of mode.
func startRedisDeployment(mode string) (*redisDeployment, error) {
	d := &redisDeployment{mode: mode}
	direct := func(addr string) *redis.Client {
		return redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true, ReadTimeout: 10 * time.Second})
	}
	switch mode {
	case "single":
		rs, err := testenv.StartRedis()
		if err != nil {
			return nil, err
		}
		d.spec, d.stop = rs.Addr, rs.Stop
		c := direct(rs.Addr)
		d.rdb, d.masters, d.data = c, []*redis.Client{c}, []*redis.Client{c}
	case "sentinel":
		g, err := testenv.StartSentinel()
		if err != nil {
			return nil, err
		}
		d.spec, d.stop = "sentinel:"+g.Master+"@"+strings.Join(g.Sentinels, ","), g.Stop
		for _, a := range g.Data {
			d.data = append(d.data, direct(a))
		}
		d.masters = d.data[:1]
		d.rdb = redis.NewFailoverClient(&redis.FailoverOptions{MasterName: g.Master, SentinelAddrs: g.Sentinels,
			ContextTimeoutEnabled: true, ReadTimeout: 10 * time.Second})
	case "cluster":
		c, err := testenv.StartRedisCluster()
		if err != nil {
			return nil, err
		}
		d.spec, d.stop = "cluster:"+strings.Join(c.Addrs(), ","), c.Stop
		for _, a := range c.Addrs() {
			n := direct(a)
			d.data = append(d.data, n)
			if role, err := n.Do(context.Background(), "ROLE").Slice(); err == nil && len(role) > 0 && role[0] == "master" {
				d.masters = append(d.masters, n)
			}
		}
		d.rdb = redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs(), ContextTimeoutEnabled: true, ReadTimeout: 10 * time.Second})
	default:
		return nil, fmt.Errorf("-redis: unknown deployment %q (want %s)", mode, strings.Join(redisModes, ", "))
	}
	return d, nil
}

// close stops the deployment and closes its clients.
func (d *redisDeployment) close() {
	d.rdb.Close()
	for _, c := range d.data {
		c.Close()
	}
	d.stop()
}

// flush empties every master.
func (d *redisDeployment) flush(ctx context.Context) error {
	for _, m := range d.masters {
		if err := m.FlushAll(ctx).Err(); err != nil {
			return fmt.Errorf("flushing redis: %w", err)
		}
	}
	return nil
}

// commands returns the commands the masters processed so far (a
// replica's replicated writes are not counted again).
func (d *redisDeployment) commands(ctx context.Context) (int64, error) {
	var sum int64
	for _, m := range d.masters {
		n, err := redisCommands(ctx, m)
		if err != nil {
			return 0, err
		}
		sum += n
	}
	return sum, nil
}

// pids returns the process ids of every server holding data.
func (d *redisDeployment) pids(ctx context.Context) ([]int, error) {
	var out []int
	for _, c := range d.data {
		pid, err := redisPID(ctx, c)
		if err != nil {
			return nil, err
		}
		out = append(out, pid)
	}
	return out, nil
}

// newRedisClient returns the child's client of spec (see above).
func newRedisClient(spec string) (redis.UniversalClient, error) {
	if rest, ok := strings.CutPrefix(spec, "cluster:"); ok {
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(rest, ","), ContextTimeoutEnabled: true}), nil
	}
	if rest, ok := strings.CutPrefix(spec, "sentinel:"); ok {
		master, addrs, ok := strings.Cut(rest, "@")
		if !ok || master == "" || addrs == "" {
			return nil, errors.New("-redis: want sentinel:<master>@<host:port,...>")
		}
		return redis.NewFailoverClient(&redis.FailoverOptions{MasterName: master, SentinelAddrs: strings.Split(addrs, ","),
			ContextTimeoutEnabled: true}), nil
	}
	if spec == "" {
		return nil, errors.New("-redis is required")
	}
	return redis.NewClient(&redis.Options{Addr: spec, ContextTimeoutEnabled: true}), nil
}

// cpuOf sums the CPU time used so far by pids.
func cpuOf(pids []int) (time.Duration, error) {
	var sum time.Duration
	for _, p := range pids {
		d, err := cpuTime(p)
		if err != nil {
			return 0, err
		}
		sum += d
	}
	return sum, nil
}
