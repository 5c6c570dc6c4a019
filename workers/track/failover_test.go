package track

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/flinksim"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/internal/redisclient"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

// TestTrackSentinelFailoverMidRun: two track workers on a Sentinel-managed
// Redis (master, replica, three Sentinels: real redis-server processes);
// the master is SIGKILLed while jobs change state. Every transition is
// announced, none with two different event ids, and tracking goes on
// against the promoted replica without a restart.
func TestTrackSentinelFailoverMidRun(t *testing.T) {
	g := testenv.Sentinel(t)
	trackFailoverMidRun(t, failover{
		prefix: "sent",
		redis:  redisclient.Config{URL: "redis:///0", Timeout: time.Second, SentinelMaster: g.Master, SentinelAddrs: g.Sentinels},
		kill:   func(t *testing.T, _ []string) string { return g.KillMaster(t) },
		now:    func(t *testing.T, _ []string) string { return g.MasterAddr(t) },
	})
}

// TestTrackClusterFailoverMidRun is TestTrackSentinelFailoverMidRun on a
// Redis Cluster of three masters with a replica each: the master of the
// first job's shard (its hash, transitions and the shard's outbox) is
// SIGKILLed while jobs change state; its replica is promoted and the
// workers' cluster clients follow it.
func TestTrackClusterFailoverMidRun(t *testing.T) {
	c := testenv.RedisCluster(t)
	slotKey := func(keys []string) string {
		tc := fastTrack("x")
		return jobstore.JobHashKey(tc.RedisPrefix, tc.Shards, keys[0])
	}
	trackFailoverMidRun(t, failover{
		prefix: "clus",
		redis:  redisclient.Config{URL: "redis:///0", Timeout: time.Second, ClusterAddrs: c.Addrs()},
		kill:   func(t *testing.T, keys []string) string { return c.KillMasterOf(t, slotKey(keys)) },
		now:    func(t *testing.T, keys []string) string { return c.MasterOf(t, slotKey(keys)) },
	})
}

// failover is one Redis deployment of trackFailoverMidRun.
type failover struct {
	prefix string // of the jobs' cluster ids
	redis  redisclient.Config
	// kill kills the master serving keys[0] (the job keys) and returns
	// its address; now names its successor.
	kill, now func(t *testing.T, keys []string) string
}

// trackFailoverMidRun runs two track workers on f's Redis and kills its
// master while jobs change state: every transition is announced, none
// with two different event ids.
func trackFailoverMidRun(t *testing.T, f failover) {
	t.Helper()
	k := testenv.Kafka(t)
	sim, hc := startSim(t)
	rcfg := f.redis
	for _, id := range []string{"r1", "r2"} {
		cfg := Config{Common: k.WorkerCommon(), Redis: rcfg, Track: fastTrack(id)}
		testenv.RunWorker(t, Spec(cfg, Overrides{Clusters: &kubeclusters.Set{}, HTTPClient: hc}))
	}
	cfg := Config{Common: k.WorkerCommon(), Redis: rcfg, Track: fastTrack("test")}
	ctx := context.Background()
	rdb, err := redisclient.New(ctx, rcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	store, err := jobstore.New(rdb, jobstore.Options{Prefix: cfg.Track.RedisPrefix, Shards: cfg.Track.Shards})
	if err != nil {
		t.Fatal(err)
	}

	const n = 20
	jobs := make([]*flinksim.Job, n)
	keys := make([]string, n)
	for i := range n {
		id := fmt.Sprintf("%s-%02d", f.prefix, i)
		jobs[i] = runningCluster(sim, id, jobIDOf(i)).Job(jobIDOf(i))
		ev := deployed("flink", id, jobIDOf(i), restURL("flink", id))
		produce(t, k, cfg.Kafka.Topics().Deployed, ev)
		keys[i] = ev.Job.Key()
	}
	for _, key := range keys {
		waitState(t, store, key, messages.StateRunning, 30*time.Second)
	}

	// Half the jobs restart, the master dies while the tracker records
	// them, the other half restart during the failover, then all recover.
	for _, j := range jobs[:n/2] {
		j.SetState(flinksim.Restarting)
	}
	time.Sleep(cfg.Track.JobStatusInterval / 2)
	old := f.kill(t, keys)
	killed := time.Now()
	for _, j := range jobs[n/2:] {
		j.SetState(flinksim.Restarting)
	}
	for _, key := range keys {
		waitState(t, store, key, messages.StateRestarting, 60*time.Second)
	}
	t.Logf("master %s killed; every job RESTARTING in Redis %s later (new master %s)", old, time.Since(killed).Round(time.Millisecond), f.now(t, keys))
	for _, j := range jobs {
		j.SetState(flinksim.Running)
	}
	for _, key := range keys {
		waitState(t, store, key, messages.StateRunning, 30*time.Second)
	}

	const perJob = 4 // >STARTING, STARTING>RUNNING, RUNNING>RESTARTING, RESTARTING>RUNNING
	// Read everything for a while: late republications (an outbox entry
	// whose XDEL the failover lost) are counted too.
	time.Sleep(2 * time.Second)
	recs := k.Consume(t, cfg.Kafka.Topics().Status, 1<<20, 5*time.Second)
	ids := map[string]map[string]bool{} // job/transition -> ce_ids
	republished := 0
	seen := map[string]bool{}
	for i, c := range statusChanges(t, recs) {
		id := testenv.Header(recs[i], "ce_id")
		if seen[id] {
			republished++
			continue
		}
		seen[id] = true
		tr := c.Job.ClusterID + " " + string(c.From) + ">" + string(c.To)
		if ids[tr] == nil {
			ids[tr] = map[string]bool{}
		}
		ids[tr][id] = true
	}
	var dup, lost []string
	for i := range n {
		id := fmt.Sprintf("%s-%02d", f.prefix, i)
		for _, tr := range []string{">STARTING", "STARTING>RUNNING", "RUNNING>RESTARTING", "RESTARTING>RUNNING"} {
			switch got := len(ids[id+" "+tr]); {
			case got == 0:
				lost = append(lost, id+" "+tr)
			case got > 1:
				dup = append(dup, id+" "+tr)
			}
		}
	}
	sort.Strings(dup)
	t.Logf("%d status records, %d distinct transitions, %d republished with the same id (consumers drop them)", len(recs), len(seen), republished)
	if len(lost) > 0 {
		t.Errorf("transitions never announced: %v", lost)
	}
	if len(dup) > 0 {
		t.Errorf("transitions announced under two different ids: %v", dup)
	}
	if len(seen) != n*perJob {
		t.Errorf("distinct status events = %d, want %d", len(seen), n*perJob)
	}
}
