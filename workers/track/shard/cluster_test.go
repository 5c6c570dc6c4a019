package shard

import (
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flinkferry/flinkferry/internal/testenv"
)

// TestLeasesOnClusterThroughAFailover runs three replicas on a real Redis
// Cluster of three masters (the leases spread over every master), kills
// the master of one lease mid-run, and checks that no shard ever has two
// owners and that every shard has one owner again after the promotion.
func TestLeasesOnClusterThroughAFailover(t *testing.T) {
	c := testenv.RedisCluster(t)
	var rs []*replica
	for i := range 3 {
		rdb := redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: c.Addrs(), ContextTimeoutEnabled: true, ClusterStateReloadInterval: 200 * time.Millisecond,
			DialTimeout: 100 * time.Millisecond, ReadTimeout: 100 * time.Millisecond, WriteTimeout: 100 * time.Millisecond,
		})
		t.Cleanup(func() { rdb.Close() })
		r := newReplica(t, rdb, fmt.Sprintf("r%d", i))
		r.start(t)
		rs = append(rs, r)
	}
	ex := watchExclusivity(t, shards, rs)
	took := waitFor(t, 10*testTTL, "3 replicas split 43/43/42", func() bool { return split(rs, shards, []int{43, 43, 42}) })
	t.Logf("3 replicas on the cluster converged to %v in %s", counts(rs), took)

	killed, promoted := c.FailMaster(t, rs[0].m.key(0))
	t.Logf("master %s of lease 0 killed; replica promoted after %s", killed, promoted.Round(time.Millisecond))
	took = waitFor(t, 30*time.Second, "every shard owned once after the failover", func() bool { return split(rs, shards, nil) })
	t.Logf("every shard owned once again %s after the promotion: %v", took.Round(time.Millisecond), counts(rs))
	ex.check(t)
}
