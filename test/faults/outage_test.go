package faults

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/flinksim"
	"github.com/flinkferry/flinkferry/messages"
)

// outage is how long the outages last: short in the default run, as the
// issue says in the full profile.
func outage(short, full time.Duration) time.Duration {
	if currentProfile().name == "full" {
		return full
	}
	return short
}

// TestRedisLostAndRestartedEmpty: Redis is killed and comes back empty.
// The tracked set is rebuilt from Kubernetes within one recovery interval
// and no job is announced in a state it was not in.
func TestRedisLostAndRestartedEmpty(t *testing.T) {
	s := startStack(t)
	ids := s.runJobs(t, "redis", 6)
	// A job the recovery found in Kubernetes is RUNNING before the track
	// workers consume its deployed event; one consumed after the loss is
	// a new run by design (docs/redis.md). The fault comes once they are.
	s.waitConsumed(t, "flinkferry-track")
	time.Sleep(2 * time.Second) // outboxes published
	if err := s.redis.Restart(); err != nil {
		t.Fatal(err)
	}
	lost := time.Now()
	for _, id := range ids {
		if err := waitJob(s, key(id), messages.StateRunning, 2*time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	took := time.Since(lost)
	t.Logf("Redis lost at %s; every job RUNNING in the new Redis %s later (recovery interval %s)", lost.Format("15:04:05.000"), took.Round(10*time.Millisecond), recoveryInterval)
	if took > recoveryInterval+10*time.Second {
		t.Errorf("rebuilding took %s, want within one recovery interval (%s)", took, recoveryInterval)
	}
	time.Sleep(3 * time.Second)
	s.allRunning(t)
	s.noFalseTransitions(t, ids, lost)
}

// TestKubeAPIServerDown: the workers lose the API server. No job is
// marked FAILED, LOST or SILENT because of it, tracking from Flink goes on
// (a job restarting meanwhile is seen), a worker asked to stop exits
// promptly, and everything resumes when it is back.
func TestKubeAPIServerDown(t *testing.T) {
	s := startStack(t)
	ids := s.runJobs(t, "kube", 6)
	d := outage(30*time.Second, 5*time.Minute)
	s.kubeProxy.Down()
	down := time.Now()
	t.Logf("API server unreachable for %s", d)

	// Flink is still reachable: a job restarting meanwhile is tracked.
	job := s.kube.Sim.Cluster(ids[0] + "-rest").Job(s.flinkJobID(t, ids[0]))
	job.SetState(flinksim.Restarting)
	if err := waitJob(s, key(ids[0]), messages.StateRestarting, time.Minute); err != nil {
		t.Errorf("during the outage: %v", err)
	}
	job.SetState(flinksim.Running)
	// A worker asked to stop during the outage exits promptly.
	tr := s.proc("track-a")
	took, err := tr.Stop(20 * time.Second)
	if err != nil {
		t.Errorf("stopping track-a during the outage: %v", err)
	}
	t.Logf("track-a stopped %s after SIGTERM, during the outage", took.Round(time.Millisecond))
	if err := tr.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(down.Add(d)))
	s.kubeProxy.Heal()
	healed := time.Now()
	for _, id := range ids {
		if err := waitJob(s, key(id), messages.StateRunning, 2*time.Minute); err != nil {
			t.Error(err)
		}
	}
	// Tracking resumed: a job restarting after the outage is seen.
	job.SetState(flinksim.Restarting)
	if err := waitJob(s, key(ids[0]), messages.StateRestarting, time.Minute); err != nil {
		t.Errorf("after the outage: %v", err)
	}
	job.SetState(flinksim.Running)
	t.Logf("after the API server was back (%s), tracking resumed", time.Since(healed).Round(time.Millisecond))
	time.Sleep(3 * time.Second)
	s.allRunning(t)
	s.noFalseTransitions(t, ids, down)
}

// TestKafkaDown: every broker refuses service for a while. The workers
// wait and resume: requests produced before the outage are all served,
// nothing is dead-lettered, no worker exits.
func TestKafkaDown(t *testing.T) {
	s := startStack(t)
	before := s.runJobs(t, "kafka-a", 2)
	var ids []string
	for i := range 4 {
		id := fmt.Sprintf("kafka-b-%02d", i)
		s.submit(t, id)
		ids = append(ids, id)
	}
	d := outage(15*time.Second, time.Minute)
	s.kafkaDown.Store(true)
	down := time.Now()
	// Flink changes while Kafka is down are announced once it is back.
	job := s.kube.Sim.Cluster(before[0] + "-rest").Job(s.flinkJobID(t, before[0]))
	job.SetState(flinksim.Restarting)
	time.Sleep(d)
	s.kafkaDown.Store(false)
	t.Logf("Kafka down for %s", time.Since(down).Round(time.Millisecond))
	for _, id := range ids {
		if err := waitJob(s, key(id), messages.StateRunning, 3*time.Minute); err != nil {
			t.Error(err)
		}
	}
	time.Sleep(3 * time.Second)
	s.allRunning(t)
	c := s.collect(t)
	var problems []string
	for _, id := range ids {
		problems = append(problems, c.chainProblems(key(id), messages.StateRunning)...)
	}
	problems = append(problems, c.chainProblems(key(before[0]), messages.StateRestarting)...)
	if len(problems) > 0 {
		t.Errorf("status events: %s", strings.Join(problems, "\n  "))
	}
	if len(c.deadLetters) > 0 {
		t.Errorf("dead-lettered: %v", c.deadLetters)
	}
	t.Logf("%d status events, %d republished with the same id", c.records, c.republished)
}

// flinkJobID is the Flink job id of application cluster id.
func (s *stack) flinkJobID(t *testing.T, id string) string {
	t.Helper()
	c := s.kube.Sim.Cluster(id + "-rest")
	if c == nil || len(c.Jobs()) != 1 {
		t.Fatalf("no simulated cluster with one job for %s", id)
	}
	return c.Jobs()[0].ID()
}

// noFalseTransitions fails t when a job of ids was announced, after
// since, in a state the fault put it in (FAILED, LOST, SILENT, a deploy
// failure) or announced again from nothing.
func (s *stack) noFalseTransitions(t *testing.T, ids []string, since time.Time) {
	t.Helper()
	s.noFalseTransitionsExcept(t, ids, since)
}

// noFalseTransitionsExcept is noFalseTransitions allowing the states ok
// (a hung JobManager is rightly SILENT).
func (s *stack) noFalseTransitionsExcept(t *testing.T, ids []string, since time.Time, ok ...messages.JobState) {
	t.Helper()
	c := s.collect(t)
	for _, id := range ids {
		recovered := 0
		for _, e := range c.since(key(id), since) {
			// A transition observed before the fault and published after
			// it (the outbox had read it, the fault came while it was on
			// its way to Kafka) is no false transition.
			if e.Time.Before(since) {
				t.Logf("%s: observed at %s, before the fault, published %s later: %s", id,
					e.Time.Format("15:04:05.000"), e.at.Sub(e.Time).Round(time.Millisecond), e)
				continue
			}
			switch {
			case e.From == "" && e.Reason == "recovered":
				// The tracker lost the job and rebuilt it: its state is
				// announced once, not a transition.
				if recovered++; recovered > 1 {
					t.Errorf("%s: announced as recovered twice: %s", id, e)
				}
				t.Logf("%s: after the fault: %s", id, e)
			case e.From == "":
				t.Errorf("%s: announced again from nothing after the fault: %s", id, e)
			case slices.Contains(ok, e.To):
				t.Logf("%s: after the fault: %s (expected)", id, e)
			case e.To == messages.StateFailed, e.To == messages.StateLost, e.To == messages.StateSilent, e.To == messages.StateDeployFailed:
				t.Errorf("%s: false transition after the fault: %s", id, e)
			default:
				t.Logf("%s: after the fault: %s", id, e)
			}
		}
	}
}
