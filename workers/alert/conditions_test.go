package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

func TestConditionEval(t *testing.T) {
	now := t0.Add(time.Hour)
	for _, tc := range []struct {
		name string
		c    Condition
		f    JobFacts
		want bool
	}{
		{"restarts above", Condition{Restarts: &CountWindow{Count: 3, Window: 10 * time.Minute}}, JobFacts{RestartsInWindow: 4}, true},
		{"restarts at", Condition{Restarts: &CountWindow{Count: 3, Window: 10 * time.Minute}}, JobFacts{RestartsInWindow: 3}, false},
		{"failed checkpoints at", Condition{FailedCheckpoints: &CountWindow{Count: 3, Window: time.Minute}}, JobFacts{FailedCheckpointsInWindow: 3}, true},
		{"failed checkpoints below", Condition{FailedCheckpoints: &CountWindow{Count: 3, Window: time.Minute}}, JobFacts{FailedCheckpointsInWindow: 2}, false},
		{"checkpoint old", Condition{NoCheckpointFor: 10 * time.Minute},
			JobFacts{State: messages.StateRunning, StateSince: now.Add(-time.Hour), LastCheckpointAt: now.Add(-11 * time.Minute)}, true},
		{"checkpoint recent", Condition{NoCheckpointFor: 10 * time.Minute},
			JobFacts{State: messages.StateRunning, StateSince: now.Add(-time.Hour), LastCheckpointAt: now.Add(-9 * time.Minute)}, false},
		{"never checkpointed, running long", Condition{NoCheckpointFor: 10 * time.Minute},
			JobFacts{State: messages.StateRunning, StateSince: now.Add(-11 * time.Minute)}, true},
		{"old checkpoint, running again since shortly", Condition{NoCheckpointFor: 10 * time.Minute},
			JobFacts{State: messages.StateRunning, StateSince: now.Add(-time.Minute), LastCheckpointAt: now.Add(-time.Hour)}, false},
		{"checkpoint age of a job not running", Condition{NoCheckpointFor: 10 * time.Minute},
			JobFacts{State: messages.StateFailed, StateSince: now.Add(-time.Hour)}, false},
		{"still starting", Condition{NotRunningAfter: 5 * time.Minute},
			JobFacts{State: messages.StateStarting, DeployedAt: now.Add(-6 * time.Minute)}, true},
		{"starting, in time", Condition{NotRunningAfter: 5 * time.Minute},
			JobFacts{State: messages.StateInitializing, DeployedAt: now.Add(-4 * time.Minute)}, false},
		{"running", Condition{NotRunningAfter: 5 * time.Minute},
			JobFacts{State: messages.StateRunning, DeployedAt: now.Add(-time.Hour)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, detail := tc.c.Eval(tc.f, now); got != tc.want {
				t.Errorf("Eval() = %v (%s), want %v", got, detail, tc.want)
			}
		})
	}
}

func TestFailedIncrease(t *testing.T) {
	at := func(min int, n int64) countSample {
		return countSample{At: t0.Add(time.Duration(min) * time.Minute), Count: n}
	}
	for _, tc := range []struct {
		name    string
		samples []countSample
		now     int
		want    int
	}{
		{"one sample", []countSample{at(0, 5)}, 1, 0},
		{"growth in window", []countSample{at(0, 1), at(5, 2), at(9, 4)}, 10, 3},
		{"growth before the window", []countSample{at(0, 1), at(1, 4), at(15, 4)}, 15, 0},
		{"reset by a new run", []countSample{at(0, 7), at(1, 2)}, 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := failedIncrease(tc.samples, 10*time.Minute, t0.Add(time.Duration(tc.now)*time.Minute)); got != tc.want {
				t.Errorf("failedIncrease() = %d, want %d", got, tc.want)
			}
		})
	}
}

// simClock is a settable clock.
type simClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *simClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// notices decodes the JSON template calls of r as rule:status:key.
func notices(t *testing.T, r *receiver) []string {
	t.Helper()
	var out []string
	for _, c := range r.delivered() {
		var b map[string]any
		if err := json.Unmarshal(c.body, &b); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s:%s:%s", b["rule"], b["status"], b["key"]))
	}
	return out
}

// waitNotices waits until r got want (in order).
func waitNotices(t *testing.T, r *receiver, want ...string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := notices(t, r)
		if strings.Join(got, "\n") == strings.Join(want, "\n") {
			return
		}
		if time.Now().After(deadline) || len(got) > len(want) {
			t.Fatalf("notices:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestConditionsFireAndResolveOnSimulatedTime runs the worker with a
// simulated clock on jobs recorded by the track worker's store: the
// checkpoint-age, failed-checkpoint, not-running-after-deploy and
// restart-rate rules fire when their time comes and resolve when it has
// passed, each once.
func TestConditionsFireAndResolveOnSimulatedTime(t *testing.T) {
	hook := newReceiver(t, nil)
	clock := &simClock{now: t0}
	env := startAlertWith(t, fmt.Sprintf(`
channels: [{name: hook, url: %q}]
rules:
  - {name: checkpoint-age, condition: {no_checkpoint_for: 10m}, match: {labels: {team: data}}, channels: [hook]}
  - {name: checkpoints-failing, condition: {failed_checkpoints: {at_least: 3, window: 10m}}, channels: [hook]}
  - {name: slow-start, condition: {not_running_after: 5m}, channels: [hook]}
  - {name: restarting, condition: {restarts: {more_than: 2, window: 10m}}, channels: [hook]}
`, hook.URL), func(a *AlertConfig) { a.EvaluateInterval = 100 * time.Millisecond }, Overrides{Now: clock.Now}, nil)
	ctx := context.Background()
	jobs, err := jobstore.New(env.rdb, jobstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// wordcount is deployed at t0 and RUNNING with a checkpoint at t0;
	// slow is deployed at t0 and stays STARTING.
	for _, id := range []string{"wordcount", "slow"} {
		d := &messages.Deployed{RequestID: "req-" + id, Job: messages.JobRef{Namespace: "flink-jobs", ClusterID: id},
			Mode: messages.ModeApplication, FlinkJobID: "0123456789abcdef0123456789abcdef", Image: "r.example/x@sha256:" + strings.Repeat("a", 64),
			RestEndpoint: "http://" + id + "-rest:8081", WebUIURL: "http://127.0.0.1:8081/flink-jobs/" + id + "/",
			Labels: map[string]string{"team": map[string]string{"wordcount": "data", "slow": "web"}[id]}, Time: t0}
		if _, err := jobs.Register(ctx, d, t0); err != nil {
			t.Fatal(err)
		}
	}
	const wc, slow = "/flink-jobs/wordcount", "/flink-jobs/slow"
	update := func(u jobstore.Update) {
		t.Helper()
		j, err := jobs.Get(ctx, u.Key)
		if err != nil {
			t.Fatal(err)
		}
		u.ExpectVersion = j.Version
		res, err := jobs.Apply(ctx, []jobstore.Update{u})
		if err != nil || res[0].Conflict {
			t.Fatalf("Apply() = %+v, %v", res, err)
		}
	}
	cps := func(lastAt time.Time, failed int64) *jobstore.Checkpoints {
		return &jobstore.Checkpoints{Completed: 1, Failed: failed, LastCompletedID: 1, LastCompletedAt: lastAt}
	}
	update(jobstore.Update{Key: wc, Transition: &jobstore.Transition{To: messages.StateRunning, Reason: "job_running", Time: t0},
		Checkpoints: cps(t0, 0)})
	at := func(d time.Duration) { clock.Set(t0.Add(d)) }

	// 4 minutes in: nothing is due. (Evaluations run every 100 ms.)
	at(4 * time.Minute)
	time.Sleep(300 * time.Millisecond)
	waitNotices(t, hook)

	// 6 minutes: slow has been STARTING for more than 5 minutes.
	at(6 * time.Minute)
	waitNotices(t, hook, "slow-start:firing:"+slow)
	update(jobstore.Update{Key: slow, Transition: &jobstore.Transition{To: messages.StateRunning, Reason: "job_running", Time: t0.Add(6 * time.Minute)},
		Checkpoints: cps(t0.Add(6*time.Minute), 0)})
	waitNotices(t, hook, "slow-start:firing:"+slow, "slow-start:resolved:"+slow)
	n := []string{"slow-start:firing:" + slow, "slow-start:resolved:" + slow}

	// 11 minutes: wordcount's last checkpoint is 11 minutes old.
	at(11 * time.Minute)
	n = append(n, "checkpoint-age:firing:"+wc)
	waitNotices(t, hook, n...)
	// A checkpoint completes: resolved.
	update(jobstore.Update{Key: wc, Checkpoints: cps(t0.Add(11*time.Minute), 0)})
	n = append(n, "checkpoint-age:resolved:"+wc)
	waitNotices(t, hook, n...)

	// Three checkpoints fail within a minute: fires; ten minutes later
	// the failures have left the window: resolved.
	at(12 * time.Minute)
	time.Sleep(300 * time.Millisecond) // a sample of 0 failures at 12m
	at(13 * time.Minute)
	update(jobstore.Update{Key: wc, Checkpoints: cps(t0.Add(13*time.Minute), 3)})
	n = append(n, "checkpoints-failing:firing:"+wc)
	waitNotices(t, hook, n...)
	at(24 * time.Minute)
	update(jobstore.Update{Key: wc, Checkpoints: cps(t0.Add(24*time.Minute), 3)})
	n = append(n, "checkpoints-failing:resolved:"+wc)
	waitNotices(t, hook, n...)

	// Three restarts within ten minutes fire at the third event (each
	// event sent twice: counted once); the window moving past them
	// resolves.
	// (A checkpoint at 30m keeps checkpoint-age quiet until 40m.)
	update(jobstore.Update{Key: wc, Checkpoints: cps(t0.Add(30*time.Minute), 3)})
	for i, sec := range []int{25 * 60, 26 * 60, 27 * 60} {
		at(time.Duration(sec) * time.Second)
		ev := statusEvent(messages.StateRunning, messages.StateRestarting, sec)
		env.send(t, ev, fmt.Sprintf("restart-%d", i))
		env.send(t, ev, fmt.Sprintf("restart-%d-again", i))
		back := statusEvent(messages.StateRestarting, messages.StateRunning, sec+10)
		env.send(t, back, fmt.Sprintf("running-%d", i))
		if i < 2 {
			time.Sleep(200 * time.Millisecond)
			waitNotices(t, hook, n...)
		}
	}
	n = append(n, "restarting:firing:"+wc)
	waitNotices(t, hook, n...)
	at(36 * time.Minute) // 25m and 26m have left the window, 27m not: 1 restart
	n = append(n, "restarting:resolved:"+wc)
	waitNotices(t, hook, n...)
	if firing, err := env.store.Firing(ctx); err != nil || len(firing) != 0 {
		t.Errorf("Firing() = %+v, %v, want none", firing, err)
	}
	// Every notice carries the job's figures from the track worker's
	// record (StreamPark's callback fields).
	calls := hook.delivered()
	var last struct {
		Flink *FlinkFacts `json:"flink"`
	}
	if err := json.Unmarshal(calls[len(calls)-1].body, &last); err != nil {
		t.Fatal(err)
	}
	if f := last.Flink; f == nil || f.CheckpointsCompleted != 1 || f.CheckpointsFailed != 3 || !f.LastCheckpointAt.Equal(t0.Add(30*time.Minute)) {
		t.Errorf("notice's flink figures = %+v, want 1 completed, 3 failed, last at t0+30m", last.Flink)
	}
}
