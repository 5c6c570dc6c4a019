package jobstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flinkferry/flinkferry/messages"
)

// BenchmarkApply measures Apply with batches of 1,000 updates of 1,000
// distinct jobs (a poll result and metrics each, as the tracker writes
// them; every 50th with a transition), one pipelined round trip per
// batch, against the real redis-server.
func BenchmarkApply(b *testing.B) {
	const batch = 1000
	rdb := client(b)
	s := newStore(b, rdb, Options{})
	ctx := context.Background()
	versions := make([]int64, batch)
	keys := make([]string, batch)
	for i := range batch {
		d := deployed("bench", fmt.Sprintf("job-%04d", i), "r", t0)
		keys[i] = d.Job.Key()
		register(b, s, d, t0)
		versions[i] = 1
	}
	states := []messages.JobState{messages.StateRunning, messages.StateRestarting}
	m := &Metrics{JobManagerMemoryBytes: 1600 << 20, TaskManagerMemoryBytes: 1728 << 20, TaskManagers: 2, SlotsTotal: 2, SlotsAvailable: 0, RunningJobs: 1, FlinkVersion: "1.19.1"}
	us := make([]Update, batch)
	cpu0 := redisCPU(b, rdb)
	b.ResetTimer()
	start := time.Now()
	n := 0
	for b.Loop() {
		now := t0.Add(time.Duration(n) * time.Second)
		for i := range us {
			us[i] = Update{Key: keys[i], ExpectVersion: versions[i], LastPoll: now, StartTime: t0, DurationMS: int64(n), Metrics: m}
			if (i+n)%50 == 0 {
				us[i].Transition = &Transition{To: states[n%2], Time: now}
			}
		}
		res, err := s.Apply(ctx, us)
		if err != nil {
			b.Fatal(err)
		}
		for i, r := range res {
			if r.Conflict {
				b.Fatalf("conflict on %s", keys[i])
			}
			versions[i] = r.Version
		}
		n++
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(n*batch)/elapsed.Seconds(), "updates/s")
	b.ReportMetric((redisCPU(b, rdb)-cpu0).Seconds()*1e6/float64(n*batch), "redis-cpu-µs/update")
}

// redisCPU returns the CPU time redis-server has used (INFO cpu: user +
// system), so the benchmark reports Redis's own cost per update.
func redisCPU(b *testing.B, rdb redis.UniversalClient) time.Duration {
	info, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				b.Fatal(err)
			}
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}
