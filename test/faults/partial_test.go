package faults

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/flinksim"
	"github.com/flinkferry/flinkferry/messages"
)

// TestRegistry503Bursts: the registry answers 503 to everything in
// bursts while jobs are submitted. Every job is built once and runs;
// nothing is dead-lettered.
func TestRegistry503Bursts(t *testing.T) {
	s := startStack(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	bursts := 0
	go func() { // 1.5 s of 503s every 3.5 s
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Second):
			}
			s.registry503.Store(true)
			bursts++
			time.Sleep(1500 * time.Millisecond)
			s.registry503.Store(false)
		}
	}()
	var ids []string
	for i := range 8 {
		id := "reg503-" + string(rune('a'+i))
		s.submit(t, id)
		ids = append(ids, id)
		time.Sleep(700 * time.Millisecond)
	}
	for _, id := range ids {
		if err := waitJob(s, key(id), messages.StateRunning, 3*time.Minute); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
	s.allRunning(t)
	for _, id := range ids {
		if n := s.pushes.get("flinkferry/" + id); n != 1 {
			t.Errorf("%s: %d manifests pushed, want 1", id, n)
		}
	}
	c := s.collect(t)
	if len(c.deadLetters) > 0 {
		t.Errorf("dead-lettered: %v", c.deadLetters)
	}
	t.Logf("%d bursts of 503s; %d jobs built once each and RUNNING, %d dead letters", bursts, len(ids), len(c.deadLetters))
}

// TestJobManagerHangsMidResponse: one JobManager sends headers and half a
// body, then nothing. The other jobs are polled on time throughout (no
// head-of-line blocking), the hung job is never FAILED or LOST, a track
// worker asked to stop meanwhile exits promptly, and the job is RUNNING
// again once its JobManager answers.
func TestJobManagerHangsMidResponse(t *testing.T) {
	s := startStack(t)
	ids := s.runJobs(t, "hang", 4)
	release := make(chan struct{})
	s.hung.Store(ids[0]+"-rest", release)
	hungAt := time.Now()
	d := outage(15*time.Second, time.Minute)

	// Meanwhile every other job's last successful poll keeps advancing.
	ctx := context.Background()
	deadline := hungAt.Add(d)
	worst := time.Duration(0)
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		for _, id := range ids[1:] {
			j, err := s.store.Get(ctx, key(id))
			if err != nil {
				t.Fatal(err)
			}
			if age := time.Since(j.LastPoll); age > worst {
				worst = age
			}
		}
	}
	// The ops rounds of the other jobs are not held up by the hang.
	if limit := 5 * time.Second; worst > limit {
		t.Errorf("while one JobManager hung, another job's last poll was %s old, want < %s", worst.Round(time.Millisecond), limit)
	}
	tr := s.proc("track-b")
	took, err := tr.Stop(20 * time.Second)
	if err != nil {
		t.Errorf("stopping track-b while a JobManager hangs: %v", err)
	}
	if err := tr.Start(); err != nil {
		t.Fatal(err)
	}
	j, err := s.store.Get(ctx, key(ids[0]))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("JobManager of %s hung %s: it shows %s (%s); others' worst poll age %s; track-b stopped in %s",
		ids[0], d, j.State, j.Reason, worst.Round(time.Millisecond), took.Round(time.Millisecond))
	close(release)
	s.hung.Delete(ids[0] + "-rest")
	if err := waitJob(s, key(ids[0]), messages.StateRunning, time.Minute); err != nil {
		t.Error(err)
	}
	s.noFalseTransitionsExcept(t, ids, hungAt, messages.StateSilent)
}

// TestTrackReplicaCutFromRedis: track-a loses Redis while it still
// reaches Flink and Kafka. Its leases expire, track-b takes its shards
// over, track-a stops writing and publishing: a job restarting during the
// cut is announced exactly once per transition.
func TestTrackReplicaCutFromRedis(t *testing.T) {
	s := startStack(t)
	ids := s.runJobs(t, "cut", 8)
	s.trackARedis.Partition()
	cut := time.Now()
	time.Sleep(time.Second)
	for _, id := range ids {
		s.kube.Sim.Cluster(id + "-rest").Job(s.flinkJobID(t, id)).SetState(flinksim.Restarting)
	}
	for _, id := range ids {
		if err := waitJob(s, key(id), messages.StateRestarting, time.Minute); err != nil {
			t.Error(err)
		}
	}
	for _, id := range ids {
		s.kube.Sim.Cluster(id + "-rest").Job(s.flinkJobID(t, id)).SetState(flinksim.Running)
	}
	for _, id := range ids {
		if err := waitJob(s, key(id), messages.StateRunning, time.Minute); err != nil {
			t.Error(err)
		}
	}
	t.Logf("track-a cut from Redis at %s; every job's restart seen and over %s later", cut.Format("15:04:05.000"), time.Since(cut).Round(time.Millisecond))
	s.trackARedis.Heal()
	time.Sleep(5 * time.Second)
	s.allRunning(t)
	c := s.collect(t)
	var problems []string
	for _, id := range ids {
		problems = append(problems, c.chainProblems(key(id), messages.StateRunning)...)
	}
	if len(problems) > 0 {
		t.Errorf("status events:\n  %s", strings.Join(problems, "\n  "))
	}
	t.Logf("%d status events, %d distinct, %d republished with the same id", c.records, len(c.ids), c.republished)
}
