package track

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/internal/flinkrest"
	"github.com/flinkferry/flinkferry/internal/flinksim"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/ops"
)

// Day-2 operations on the real peers: the control handler called
// directly (no Kafka), the tracker against redis-server, the Flink REST
// simulator and, for the cleanup, the real kube-apiserver.

// skewClock is the clock of the simulated JobManagers and of the tracker:
// the real time plus an offset the test moves forward, so a savepoint of
// minutes passes in an instant of the test while the tracker, the control
// handler and Flink agree on the time (the tracker's deadlines and the
// checkpoint history's trigger times are on the same clock).
type skewClock struct{ off atomic.Int64 }

func (c *skewClock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *skewClock) Advance(d time.Duration) { c.off.Add(int64(d)) }

// countingFlink is a tracker's Flink client that counts the operation
// calls it makes, by call and trigger id (savepoint, stop, status), job
// id (cancel) or path (dispose).
type countingFlink struct {
	*flinkrest.Client
	mu    sync.Mutex
	calls map[string]int
}

func (f *countingFlink) count(call, arg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[call+" "+arg]++
}

// n returns how many times call was made with arg.
func (f *countingFlink) n(call, arg string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[call+" "+arg]
}

func (f *countingFlink) TriggerSavepoint(ctx context.Context, base, jobID string, o flinkrest.SavepointRequest) (string, error) {
	f.count("savepoint", o.TriggerID)
	return f.Client.TriggerSavepoint(ctx, base, jobID, o)
}

func (f *countingFlink) StopWithSavepoint(ctx context.Context, base, jobID string, o flinkrest.StopRequest) (string, error) {
	f.count("stop", o.TriggerID)
	return f.Client.StopWithSavepoint(ctx, base, jobID, o)
}

func (f *countingFlink) SavepointStatus(ctx context.Context, base, jobID, triggerID string) (*flinkrest.SavepointResult, error) {
	f.count("status", triggerID)
	return f.Client.SavepointStatus(ctx, base, jobID, triggerID)
}

func (f *countingFlink) CancelJob(ctx context.Context, base, jobID string) error {
	f.count("cancel", jobID)
	return f.Client.CancelJob(ctx, base, jobID)
}

func (f *countingFlink) DisposeSavepoint(ctx context.Context, base, path string) (string, error) {
	f.count("dispose", path)
	return f.Client.DisposeSavepoint(ctx, base, path)
}

// opsEnv is one test's peers: a Redis database, the simulator, the clock
// they share with the tracker, and the control handler with its refusals.
type opsEnv struct {
	r        testenv.RedisServer
	cfg      TrackConfig
	store    *jobstore.Store
	sim      *flinksim.Server
	hc       *http.Client
	clock    *skewClock
	events   *eventLog
	refusals *refusalLog
	ctl      *ControlHandler
}

// newOpsEnv prepares the peers; edit changes the tracker configuration
// (fastTrack: operations advanced every 200 ms).
func newOpsEnv(t *testing.T, edit func(*TrackConfig)) *opsEnv {
	t.Helper()
	r := testenv.Redis(t)
	sim, hc := startSim(t)
	cfg := fastTrack("")
	if edit != nil {
		edit(&cfg)
	}
	store := newStore(t, r, cfg.Shards)
	clock := &skewClock{}
	refusals := &refusalLog{}
	// The handler's Timeout is left out: the deployed default, 30 minutes.
	ctl := &ControlHandler{Store: store, Refusals: refusals, Now: clock.Now}
	return &opsEnv{r: r, cfg: cfg, store: store, sim: sim, hc: hc, clock: clock, events: &eventLog{}, refusals: refusals, ctl: ctl}
}

// flink returns a new counting Flink client for one replica.
func (e *opsEnv) flink() *countingFlink {
	return &countingFlink{Client: flinkrest.New(flinkrest.Options{HTTPClient: e.hc, RequestTimeout: e.cfg.RequestTimeout})}
}

// start starts a tracker replica with Flink client f, on the shared clock.
func (e *opsEnv) start(t *testing.T, id string, f *countingFlink, clusters *kubeclusters.Set) *replica {
	t.Helper()
	return startReplicaWith(t, e.r, e.cfg, id, Deps{Flink: f, Publisher: e.events, Clusters: clusters},
		func(tr *Tracker) { tr.now = e.clock.Now })
}

// addJob adds a simulated application JobManager for cluster id of
// namespace ns, running job jobID whose savepoints follow sp (async is
// the JobManager's rest.async.store-duration, 0 for Flink's 5 minutes),
// and registers the job as deployed. It returns the job's key.
func (e *opsEnv) addJob(t *testing.T, ns, id, jobID string, sp flinksim.SavepointSpec, async time.Duration) (string, *flinksim.Cluster) {
	t.Helper()
	jm := e.sim.AddCluster(kubeclusters.RestServiceName(id), flinksim.ClusterOptions{
		Application: true, Clock: e.clock, AsyncStoreDuration: async,
		Jobs: []flinksim.JobSpec{{ID: jobID, Script: flinksim.Script{{State: flinksim.Running}}, Savepoints: sp}},
	})
	ev := deployed(ns, id, jobID, restURL(ns, id))
	if _, err := e.store.Register(context.Background(), ev, time.Now()); err != nil {
		t.Fatal(err)
	}
	return ev.Job.Key(), jm
}

// handle delivers req to the control handler and fails the test on an error.
func (e *opsEnv) handle(t *testing.T, req messages.ControlRequested) {
	t.Helper()
	if _, err := e.ctl.Handle(context.Background(), &req); err != nil {
		t.Fatalf("Handle(%s %s) = %v", req.Operation, req.RequestID, err)
	}
}

// waitJob polls the job in Redis until ok or the deadline.
func waitJob(t *testing.T, store *jobstore.Store, key string, within time.Duration, what string, ok func(*jobstore.Job) bool) *jobstore.Job {
	t.Helper()
	deadline := time.Now().Add(within)
	var last *jobstore.Job
	for time.Now().Before(deadline) {
		if j, err := store.Get(context.Background(), key); err == nil {
			last = j
			if ok(j) {
				return j
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if last == nil {
		t.Fatalf("job %s never registered", key)
	}
	op := "none"
	if last.Op != nil {
		op = fmt.Sprintf("%+v", *last.Op)
	}
	t.Fatalf("job %s: want %s within %s; state %s (reason %q, message %q), operation %s", key, what, within, last.State, last.Reason, last.Message, op)
	return nil
}

// waitOpDone waits until the job's operation requestID is done.
func waitOpDone(t *testing.T, store *jobstore.Store, key, requestID string, within time.Duration) *jobstore.Job {
	t.Helper()
	return waitJob(t, store, key, within, "operation "+requestID+" done", func(j *jobstore.Job) bool {
		return j.Op != nil && j.Op.RequestID == requestID && j.Op.Phase == ops.Done
	})
}

// waitTriggered waits until Flink accepted the job's savepoint operation
// (the job shows SAVEPOINTING from the request on).
func waitTriggered(t *testing.T, store *jobstore.Store, key, requestID string) *jobstore.Job {
	t.Helper()
	return waitJob(t, store, key, 10*time.Second, "savepoint "+requestID+" triggered", func(j *jobstore.Job) bool {
		return j.Op != nil && j.Op.RequestID == requestID && j.Op.Phase == ops.Triggered && j.State == messages.StateSavepointing
	})
}

// waitUntil polls cond until it holds or the deadline.
func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// opEvents returns the status events of the job that are steps of
// operation requestID, in order.
func opEvents(l *eventLog, key, requestID string) []messages.JobStatusChanged {
	var out []messages.JobStatusChanged
	for _, ev := range l.of(key, time.Time{}) {
		if ev.Operation != nil && ev.Operation.RequestID == requestID {
			out = append(out, ev)
		}
	}
	return out
}

// opEventsUntil is opEvents once done accepts them, or after 5 s: the
// outbox publishes a step after the store records it, so a test that saw
// the operation end in the store waits for its last events.
func opEventsUntil(l *eventLog, key, requestID string, done func([]messages.JobStatusChanged) bool) []messages.JobStatusChanged {
	deadline := time.Now().Add(5 * time.Second)
	for {
		evs := opEvents(l, key, requestID)
		if done(evs) || time.Now().After(deadline) {
			return evs
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// atLeast says there are n events or more.
func atLeast(n int) func([]messages.JobStatusChanged) bool {
	return func(evs []messages.JobStatusChanged) bool { return len(evs) >= n }
}

// opSummary is what a refusal must leave unchanged of an operation.
func opSummary(op *ops.Op) string {
	if op == nil {
		return "none"
	}
	return fmt.Sprintf("%s %s %s %s trigger=%s location=%q deadline=%s", op.RequestID, op.Operation, op.Phase, op.Result, op.TriggerID, op.Location, op.Deadline)
}

// describe prints events for failure messages.
func describe(evs []messages.JobStatusChanged) string {
	var b strings.Builder
	for _, ev := range evs {
		op := ""
		if ev.Operation != nil {
			op = fmt.Sprintf(" [%s %s %s]", ev.Operation.Operation, ev.Operation.RequestID, ev.Operation.Status)
		}
		fmt.Fprintf(&b, "\n  %s>%s %s%s path=%q message=%q", ev.From, ev.To, ev.Reason, op, ev.SavepointPath, truncate(ev.Message, 200))
	}
	return b.String()
}

// savepointsTriggered returns how many savepoints Flink's checkpoint
// statistics of the job count, and how many its history lists.
func savepointsTriggered(t *testing.T, f *countingFlink, ns, id, jobID string) (total int64, listed int) {
	t.Helper()
	stats, err := f.Checkpoints(context.Background(), restURL(ns, id), jobID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range stats.History {
		if c.IsSavepoint {
			listed++
		}
	}
	return stats.Counts.Total, listed
}

// TestOpSavepointOfFiveMinutes: a savepoint that takes five minutes of
// simulated time (the tracker's clock moves with Flink's) completes under
// the default 30-minute deadline: the job shows SAVEPOINTING at every
// step, then RUNNING with reason savepoint_completed and the path, which
// the history keeps.
func TestOpSavepointOfFiveMinutes(t *testing.T) {
	t.Parallel()
	e := newOpsEnv(t, nil)
	ctx := context.Background()
	const ns, id = "flink", "sp5"
	jobID := jobIDOf(0)
	key, jm := e.addJob(t, ns, id, jobID, flinksim.SavepointSpec{Duration: 5 * time.Minute}, 0)
	f := e.flink()
	e.start(t, "r1", f, nil)
	waitState(t, e.store, key, messages.StateRunning, 15*time.Second)

	req := messages.ControlRequested{RequestID: "sp5-1", Job: messages.JobRef{Namespace: ns, ClusterID: id}, Operation: messages.OpSavepoint}
	trigger := flinkrest.TriggerID(req.RequestID)
	e.handle(t, req)
	j := waitTriggered(t, e.store, key, req.RequestID)
	if got, want := j.Op.Deadline.Sub(j.Op.RequestedAt), 30*time.Minute; got != want {
		t.Errorf("deadline %s after the request, want %s", got, want)
	}

	// Simulated time passes in steps of 30 s; after each, a status poll
	// made at the new time, and the job still SAVEPOINTING.
	const step = 30 * time.Second
	for elapsed := step; elapsed < 5*time.Minute; elapsed += step {
		e.clock.Advance(step)
		before := f.n("status", trigger)
		waitUntil(t, 5*time.Second, "a savepoint status poll", func() bool { return f.n("status", trigger) > before })
		j, err := e.store.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != messages.StateSavepointing || j.Op.Phase != ops.Triggered {
			t.Fatalf("after %s of simulated time: state %s, phase %s, want SAVEPOINTING, triggered", elapsed, j.State, j.Op.Phase)
		}
		if sps := jm.Savepoints(); len(sps) != 0 {
			t.Fatalf("after %s of simulated time Flink has savepoints %v, want none yet", elapsed, sps)
		}
	}
	e.clock.Advance(step)
	j = waitJob(t, e.store, key, 5*time.Second, "RUNNING after the savepoint", func(j *jobstore.Job) bool {
		return j.State == messages.StateRunning && j.Op.Phase == ops.Done
	})
	sps := jm.Savepoints()
	if len(sps) != 1 || j.Op.Result != ops.Completed || j.Op.Location != sps[0] {
		t.Fatalf("operation %+v; Flink's savepoints %v, want completed at the one savepoint", *j.Op, sps)
	}
	if j.Reason != "savepoint_completed" {
		t.Errorf("job reason %q, want savepoint_completed", j.Reason)
	}
	stats, err := f.Checkpoints(ctx, restURL(ns, id), jobID)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Latest.Savepoint == nil {
		t.Fatal("Flink reports no latest savepoint")
	}
	took := stats.Latest.Savepoint.EndToEndDuration
	if took < 5*time.Minute {
		t.Errorf("Flink's savepoint took %s, want >= 5m", took)
	}
	t.Logf("savepoint of %s simulated time completed at %s after %d status polls; %s of the tracker's clock elapsed of a %s deadline",
		took, sps[0], f.n("status", trigger), e.clock.Now().Sub(j.Op.RequestedAt).Round(time.Second), j.Op.Deadline.Sub(j.Op.RequestedAt))

	evs := opEventsUntil(e.events, key, req.RequestID, atLeast(2))
	type ev struct {
		from, to messages.JobState
		reason   string
		status   messages.OperationStatus
		path     string
	}
	var got []ev
	for _, x := range evs {
		got = append(got, ev{x.From, x.To, x.Reason, x.Operation.Status, x.SavepointPath})
	}
	want := []ev{
		{messages.StateRunning, messages.StateSavepointing, "savepoint_requested", messages.OperationRequested, ""},
		{messages.StateSavepointing, messages.StateRunning, "savepoint_completed", messages.OperationCompleted, sps[0]},
	}
	if !slices.Equal(got, want) {
		t.Errorf("status events of the operation:%s\nwant %+v", describe(evs), want)
	}
	hist, err := e.store.Savepoints(ctx, key, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].Path != sps[0] || hist[0].Result != ops.Completed || hist[0].Trigger != jobstore.TriggerManual || hist[0].RequestID != req.RequestID {
		t.Errorf("savepoint history %+v, want the one manual savepoint", hist)
	}
}

// TestOpSavepointFailed: Flink fails the savepoint with a root cause; the
// job is RUNNING again, one status event savepoint_failed carries Flink's
// cause and the operation's failed status, the history has a failed
// entry, and Flink has no savepoint.
func TestOpSavepointFailed(t *testing.T) {
	t.Parallel()
	e := newOpsEnv(t, nil)
	ctx := context.Background()
	const ns, id = "flink", "spfail"
	jobID := jobIDOf(1)
	key, jm := e.addJob(t, ns, id, jobID, flinksim.SavepointSpec{Duration: 20 * time.Second}, 0)
	e.start(t, "r1", e.flink(), nil)
	waitState(t, e.store, key, messages.StateRunning, 15*time.Second)
	const cause = "org.apache.flink.runtime.checkpoint.CheckpointException: Failure to finalize checkpoint: s3://flink/savepoints: No space left on device"
	jm.Job(jobID).SetSavepointOutcome(true, cause)

	req := messages.ControlRequested{RequestID: "spfail-1", Job: messages.JobRef{Namespace: ns, ClusterID: id}, Operation: messages.OpSavepoint}
	e.handle(t, req)
	waitTriggered(t, e.store, key, req.RequestID)
	e.clock.Advance(20 * time.Second)
	j := waitOpDone(t, e.store, key, req.RequestID, 5*time.Second)
	j = waitState(t, e.store, key, messages.StateRunning, 5*time.Second)
	if j.Op.Result != ops.Failed || j.Op.Reason != "savepoint_failed" || !strings.Contains(j.Op.Message, "No space left on device") {
		t.Errorf("operation: result %s, reason %q, message %q; want failed, savepoint_failed, Flink's cause", j.Op.Result, j.Op.Reason, j.Op.Message)
	}
	if j.Reason != "savepoint_failed" || !strings.Contains(j.Message, "No space left on device") {
		t.Errorf("job: reason %q, message %q; want savepoint_failed with Flink's cause", j.Reason, j.Message)
	}
	evs := opEventsUntil(e.events, key, req.RequestID, atLeast(2))
	var failed []messages.JobStatusChanged
	for _, ev := range evs {
		if ev.Reason == "savepoint_failed" {
			failed = append(failed, ev)
		}
	}
	if len(failed) != 1 || failed[0].To != messages.StateRunning || failed[0].Operation.Status != messages.OperationFailed ||
		!strings.Contains(failed[0].Message, "CheckpointException") || !strings.Contains(failed[0].Message, "No space left on device") {
		t.Fatalf("status events of the operation:%s\nwant one savepoint_failed to RUNNING with Flink's cause and status failed", describe(evs))
	}
	if n := strings.Count(failed[0].Message, "No space left on device"); n != 1 {
		t.Errorf("Flink's cause written %d times in %q, want once", n, failed[0].Message)
	}
	t.Logf("savepoint_failed event: %s>%s, message %q", failed[0].From, failed[0].To, failed[0].Message)
	// The job stays RUNNING, polled on.
	time.Sleep(time.Second)
	for _, ev := range e.events.of(key, time.Time{}) {
		if ev.To != messages.StateRunning && ev.To != messages.StateSavepointing && ev.To != messages.StateStarting {
			t.Errorf("event to %s (%s): a failed savepoint moved the job", ev.To, ev.Reason)
		}
	}
	hist, err := e.store.Savepoints(ctx, key, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].Result != ops.Failed || hist[0].Path != "" || hist[0].RequestID != req.RequestID {
		t.Errorf("savepoint history %+v, want one failed entry of %s", hist, req.RequestID)
	}
	if sps := jm.Savepoints(); len(sps) != 0 {
		t.Errorf("Flink's savepoints %v, want none", sps)
	}
}

// TestOpSavepointSurvivesACrash: tracker A triggers a two-minute
// savepoint and is killed (its leases left to expire, as after SIGKILL);
// tracker B takes the shard over and finishes the operation. Either B
// follows the same trigger id while Flink still runs it, or, when Flink
// forgot the finished operation while no tracker ran (its
// rest.async.store-duration passed), B finds the savepoint in the job's
// checkpoint history. Either way Flink took exactly one savepoint and B
// triggered none.
func TestOpSavepointSurvivesACrash(t *testing.T) {
	t.Parallel()
	for i, tc := range []struct {
		name string
		// async is the JobManager's rest.async.store-duration; away the
		// simulated time that passes between the kill and B's start;
		// after the simulated time B waits for.
		async, away, after time.Duration
		forgotten          bool
	}{
		{name: "B follows the trigger id", away: time.Minute, after: time.Minute},
		{name: "Flink forgot the operation", async: 10 * time.Second, away: 2*time.Minute + 30*time.Second, forgotten: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newOpsEnv(t, func(c *TrackConfig) { c.LeaseTTL = time.Second })
			ctx := context.Background()
			ns, id := "flink", fmt.Sprintf("crash-%d", i)
			jobID := jobIDOf(10 + i)
			key, jm := e.addJob(t, ns, id, jobID, flinksim.SavepointSpec{Duration: 2 * time.Minute}, tc.async)
			fa := e.flink()
			a := e.start(t, "a", fa, nil)
			waitState(t, e.store, key, messages.StateRunning, 15*time.Second)

			req := messages.ControlRequested{RequestID: id + "-sp", Job: messages.JobRef{Namespace: ns, ClusterID: id}, Operation: messages.OpSavepoint}
			trigger := flinkrest.TriggerID(req.RequestID)
			e.handle(t, req)
			waitTriggered(t, e.store, key, req.RequestID)
			if _, listed := savepointsTriggered(t, fa, ns, id, jobID); listed != 1 {
				t.Fatalf("Flink lists %d savepoints in progress, want 1", listed)
			}
			a.kill()
			killed := time.Now()
			e.clock.Advance(tc.away)
			if tc.forgotten {
				// Flink completed the savepoint and then forgot the
				// operation: its status is 404, a trigger with the same id
				// would start a second savepoint.
				if _, err := fa.Client.SavepointStatus(ctx, restURL(ns, id), jobID, trigger); !errors.Is(err, flinkrest.ErrOperationNotFound) {
					t.Fatalf("Flink's status of the forgotten operation: %v, want not found", err)
				}
				if sps := jm.Savepoints(); len(sps) != 1 {
					t.Fatalf("Flink's savepoints while no tracker ran: %v, want 1", sps)
				}
			}

			fb := e.flink()
			e.start(t, "b", fb, nil)
			if !tc.forgotten {
				waitUntil(t, 10*time.Second, "B polls the savepoint's trigger id", func() bool { return fb.n("status", trigger) > 0 })
				t.Logf("B polled trigger id %s %s after A was killed", trigger, time.Since(killed).Round(time.Millisecond))
				if j, _ := e.store.Get(ctx, key); j.State != messages.StateSavepointing || j.Op.Phase != ops.Triggered {
					t.Fatalf("while B follows the savepoint: state %s, phase %s", j.State, j.Op.Phase)
				}
				e.clock.Advance(tc.after)
			}
			j := waitJob(t, e.store, key, 15*time.Second, "RUNNING after the savepoint", func(j *jobstore.Job) bool {
				return j.State == messages.StateRunning && j.Op.Phase == ops.Done
			})
			t.Logf("operation completed by B %s after A was killed; B made %d status polls", time.Since(killed).Round(time.Millisecond), fb.n("status", trigger))

			sps := jm.Savepoints()
			if len(sps) != 1 || j.Op.Result != ops.Completed || j.Op.Location != sps[0] {
				t.Fatalf("operation %+v; Flink's savepoints %v, want completed at the one savepoint", *j.Op, sps)
			}
			if got := fa.n("savepoint", trigger); got != 1 {
				t.Errorf("A triggered the savepoint %d times, want 1", got)
			}
			if fb.n("status", trigger) == 0 {
				t.Errorf("B never read the savepoint's status under trigger id %s", trigger)
			}
			if got := fb.n("savepoint", trigger); got != 0 {
				t.Errorf("B triggered the savepoint %d times, want 0", got)
			}
			if total, listed := savepointsTriggered(t, fb, ns, id, jobID); total != 1 || listed != 1 {
				t.Errorf("Flink counts %d checkpoints triggered and lists %d savepoints, want 1 and 1", total, listed)
			}
			// The transition that carries the step is written and published
			// just after the operation is recorded done.
			waitUntil(t, 5*time.Second, "the savepoint_completed event", func() bool {
				for _, ev := range opEvents(e.events, key, req.RequestID) {
					if ev.Reason == "savepoint_completed" {
						return true
					}
				}
				return false
			})
			var completed int
			for _, ev := range opEvents(e.events, key, req.RequestID) {
				if ev.Reason == "savepoint_completed" {
					completed++
					if ev.SavepointPath != sps[0] {
						t.Errorf("savepoint_completed with path %q, want %q", ev.SavepointPath, sps[0])
					}
				}
			}
			if completed != 1 {
				t.Errorf("savepoint_completed events: %d, want 1:%s", completed, describe(opEvents(e.events, key, req.RequestID)))
			}
			hist, err := e.store.Savepoints(ctx, key, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(hist) != 1 || hist[0].Path != sps[0] {
				t.Errorf("savepoint history %+v, want the one savepoint", hist)
			}
		})
	}
}

// TestOpControlDeliveredTwice: every control request delivered twice
// while its operation is pending, and once more after it is done, starts
// one Flink operation; the same request id with other content is refused
// request_id_conflict naming both content hashes.
func TestOpControlDeliveredTwice(t *testing.T) {
	t.Parallel()
	e := newOpsEnv(t, nil)
	ctx := context.Background()
	f := e.flink()
	e.start(t, "r1", f, nil)
	type check func(t *testing.T, jm *flinksim.Cluster, jobID string, j *jobstore.Job)
	cases := []struct {
		op    messages.Operation
		call  string // the Flink call that starts it, counted by trigger id (job id for cancel)
		state messages.JobState
		check check
	}{
		{messages.OpSavepoint, "savepoint", messages.StateRunning, func(t *testing.T, jm *flinksim.Cluster, _ string, j *jobstore.Job) {
			if sps := jm.Savepoints(); len(sps) != 1 || sps[0] != j.Op.Location {
				t.Errorf("Flink's savepoints %v, want the operation's %s", sps, j.Op.Location)
			}
		}},
		{messages.OpSuspend, "stop", messages.StateSuspended, func(t *testing.T, jm *flinksim.Cluster, jobID string, j *jobstore.Job) {
			if sps := jm.Savepoints(); len(sps) != 1 || sps[0] != j.Op.Location {
				t.Errorf("Flink's savepoints %v, want the operation's %s", sps, j.Op.Location)
			}
			if st := jm.Job(jobID).State(); st != flinksim.Finished {
				t.Errorf("Flink job %s, want FINISHED", st)
			}
		}},
		{messages.OpCancel, "cancel", messages.StateCanceled, func(t *testing.T, jm *flinksim.Cluster, jobID string, _ *jobstore.Job) {
			if st := jm.Job(jobID).State(); st != flinksim.Canceled {
				t.Errorf("Flink job %s, want CANCELED", st)
			}
		}},
	}
	keys := make([]string, len(cases))
	jms := make([]*flinksim.Cluster, len(cases))
	for i, c := range cases {
		keys[i], jms[i] = e.addJob(t, "flink", "twice-"+string(c.op), jobIDOf(20+i), flinksim.SavepointSpec{Duration: 2 * time.Second}, 0)
	}
	for _, k := range keys {
		waitState(t, e.store, k, messages.StateRunning, 15*time.Second)
	}
	for i, c := range cases {
		t.Run(string(c.op), func(t *testing.T) {
			req := messages.ControlRequested{RequestID: "twice-" + string(c.op) + "-1", Job: messages.JobRef{Namespace: "flink", ClusterID: "twice-" + string(c.op)}, Operation: c.op}
			e.handle(t, req)
			e.handle(t, req) // redelivered before the tracker's first round
			e.clock.Advance(2 * time.Second)
			j := waitOpDone(t, e.store, keys[i], req.RequestID, 10*time.Second)
			e.handle(t, req) // redelivered once done
			if j.Op.Result != ops.Completed {
				t.Fatalf("operation %+v, want completed", *j.Op)
			}
			j = waitState(t, e.store, keys[i], c.state, 5*time.Second)
			time.Sleep(3 * e.cfg.OperationInterval) // room for a second operation
			arg := flinkrest.TriggerID(req.RequestID)
			if c.op == messages.OpCancel {
				arg = jobIDOf(20 + i)
			}
			if got := f.n(c.call, arg); got != 1 {
				t.Errorf("Flink %s calls: %d, want 1", c.call, got)
			}
			c.check(t, jms[i], jobIDOf(20+i), j)
			completed := 0
			for _, ev := range opEvents(e.events, keys[i], req.RequestID) {
				if ev.Operation.Status == messages.OperationCompleted {
					completed++
				}
			}
			if completed != 1 {
				t.Errorf("completion events: %d, want 1:%s", completed, describe(opEvents(e.events, keys[i], req.RequestID)))
			}
			t.Logf("%s delivered 3 times: %d %s call, job %s (%s)", c.op, f.n(c.call, arg), c.call, j.State, j.Reason)
		})
	}

	t.Run("same request id, other content", func(t *testing.T) {
		first := messages.ControlRequested{RequestID: "twice-savepoint-1", Job: messages.JobRef{Namespace: "flink", ClusterID: "twice-savepoint"}, Operation: messages.OpSavepoint}
		other := first
		other.Savepoint = &messages.SavepointOptions{Format: messages.FormatNative}
		h1, err := contentHash(&first)
		if err != nil {
			t.Fatal(err)
		}
		h2, err := contentHash(&other)
		if err != nil {
			t.Fatal(err)
		}
		before, err := e.store.Get(ctx, keys[0])
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.ctl.Handle(ctx, &other)
		if !failure.IsPermanent(err) || failure.Reason(err) != messages.RefusedConflict {
			t.Fatalf("Handle() = %v, want a permanent %s", err, messages.RefusedConflict)
		}
		refused := e.refusals.of(other.RequestID)
		if len(refused) != 1 || refused[0].Reason != messages.RefusedConflict ||
			!strings.Contains(refused[0].Message, h1) || !strings.Contains(refused[0].Message, h2) {
			t.Fatalf("refusals %+v, want one %s naming %s and %s", refused, messages.RefusedConflict, h1, h2)
		}
		after, err := e.store.Get(ctx, keys[0])
		if err != nil {
			t.Fatal(err)
		}
		if got, want := opSummary(after.Op), opSummary(before.Op); got != want {
			t.Errorf("operation after the conflict %s, want unchanged %s", got, want)
		}
		if got := f.n("savepoint", flinkrest.TriggerID(other.RequestID)); got != 1 {
			t.Errorf("Flink savepoint calls: %d, want still 1", got)
		}
		t.Logf("refused: %s", refused[0].Message)
	})
}

// TestOpRefusals: a request that cannot be recorded is a permanent error
// with the refusal's reason (dead-lettered) and a ControlRefused event;
// nothing is recorded, and Flink is not asked.
func TestOpRefusals(t *testing.T) {
	t.Parallel()
	e := newOpsEnv(t, nil)
	ctx := context.Background()
	f := e.flink()
	// A savepoint of ten minutes keeps the suspend in flight.
	busy, _ := e.addJob(t, "flink", "busy", jobIDOf(30), flinksim.SavepointSpec{Duration: 10 * time.Minute}, 0)
	steady, _ := e.addJob(t, "flink", "steady", jobIDOf(31), flinksim.SavepointSpec{}, 0)
	e.sim.AddCluster(kubeclusters.RestServiceName("session"), flinksim.ClusterOptions{Clock: e.clock})
	sess := deployed("flink", "session", "", restURL("flink", "session"))
	sess.Mode = messages.ModeSessionCluster
	if _, err := e.store.Register(ctx, sess, time.Now()); err != nil {
		t.Fatal(err)
	}
	e.start(t, "r1", f, nil)
	waitState(t, e.store, busy, messages.StateRunning, 15*time.Second)
	waitState(t, e.store, steady, messages.StateRunning, 15*time.Second)
	suspend := messages.ControlRequested{RequestID: "busy-suspend", Job: messages.JobRef{Namespace: "flink", ClusterID: "busy"}, Operation: messages.OpSuspend}
	e.handle(t, suspend)
	waitState(t, e.store, busy, messages.StateSuspending, 10*time.Second)

	for _, tc := range []struct {
		name   string
		req    messages.ControlRequested
		reason string
	}{
		{"unknown job", messages.ControlRequested{RequestID: "r-nf", Job: messages.JobRef{Namespace: "flink", ClusterID: "nosuch"}, Operation: messages.OpSavepoint}, messages.RefusedJobNotFound},
		{"savepoint while a suspend is in flight", messages.ControlRequested{RequestID: "r-busy", Job: messages.JobRef{Namespace: "flink", ClusterID: "busy"}, Operation: messages.OpSavepoint}, messages.RefusedInProgress},
		{"resume of a RUNNING job", messages.ControlRequested{RequestID: "r-resume", Job: messages.JobRef{Namespace: "flink", ClusterID: "steady"}, Operation: messages.OpResume}, messages.RefusedNotAllowed},
		{"savepoint of a session cluster", messages.ControlRequested{RequestID: "r-sess", Job: messages.JobRef{Namespace: "flink", ClusterID: "session"}, Operation: messages.OpSavepoint}, messages.RefusedNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := tc.req.JobKey()
			before, errBefore := e.store.Get(ctx, key)
			// Refused each time: a refusal records nothing a redelivery
			// could be taken for a duplicate of.
			for range 2 {
				_, err := e.ctl.Handle(ctx, &tc.req)
				if !failure.IsPermanent(err) || failure.Reason(err) != tc.reason {
					t.Fatalf("Handle() = %v, want a permanent error with reason %s", err, tc.reason)
				}
			}
			refused := e.refusals.of(tc.req.RequestID)
			if len(refused) != 1 || refused[0].Reason != tc.reason || refused[0].Job != tc.req.Job || refused[0].Operation != tc.req.Operation || refused[0].Message == "" {
				t.Fatalf("refusals %+v, want one %s (published under one id)", refused, tc.reason)
			}
			after, errAfter := e.store.Get(ctx, key)
			switch {
			case errors.Is(errBefore, jobstore.ErrNotFound):
				if !errors.Is(errAfter, jobstore.ErrNotFound) {
					t.Errorf("after the refusal: %v, want the job still unknown", errAfter)
				}
			case errBefore != nil || errAfter != nil:
				t.Fatal(errBefore, errAfter)
			case opSummary(after.Op) != opSummary(before.Op):
				t.Errorf("operation after the refusal %s, want %s", opSummary(after.Op), opSummary(before.Op))
			}
			time.Sleep(3 * e.cfg.OperationInterval)
			if got := f.n("savepoint", flinkrest.TriggerID(tc.req.RequestID)); got != 0 {
				t.Errorf("Flink savepoint calls of the refused request: %d, want 0", got)
			}
			t.Logf("%s: %s", refused[0].Reason, refused[0].Message)
		})
	}
	if j, _ := e.store.Get(ctx, busy); j.Op.RequestID != suspend.RequestID || j.State != messages.StateSuspending {
		t.Errorf("the suspend in flight: %+v, state %s; want it untouched", *j.Op, j.State)
	}
}

// TestOpCancelApplicationJob: an application job cancelled on the real
// API server becomes CANCELED with reason canceled once its cluster's
// objects are gone: Deployment, Services, ConfigMaps, HA ConfigMaps and
// pods.
func TestOpCancelApplicationJob(t *testing.T) {
	t.Parallel()
	cs := kubetest.Shared(t).Clientset()
	ns, id := cleanNamespace("ops-cancel"), "cancelme"
	kubetest.CreateNamespace(t, cs, ns)
	e := newOpsEnv(t, nil)
	ctx := context.Background()
	d, created := applyAppCluster(t, cs, ns, id)
	if _, err := kubetest.RunDeployment(ctx, cs, d); err != nil {
		t.Fatal(err)
	}
	jobID := jobIDOf(40)
	key, jm := e.addJob(t, ns, id, jobID, flinksim.SavepointSpec{}, 0)
	clusters := &kubeclusters.Set{}
	clusters.Add(kubeclusters.Config{Name: "default", Default: true, AllowedNamespaces: []string{ns}}, cs)
	f := e.flink()
	e.start(t, "r1", f, clusters)
	waitState(t, e.store, key, messages.StateRunning, 15*time.Second)
	left := mustObjectsLeft(t, cs, ns, id)

	req := messages.ControlRequested{RequestID: "cancel-1", Job: messages.JobRef{Namespace: ns, ClusterID: id}, Operation: messages.OpCancel}
	e.handle(t, req)
	var j *jobstore.Job
	var err error
	deadline := time.Now().Add(20 * time.Second)
	for {
		// The kubelet confirms pod deletions.
		if err := kubetest.FinishPodDeletions(ctx, cs, ns); err != nil {
			t.Fatal(err)
		}
		if j, err = e.store.Get(ctx, key); err == nil && j.State == messages.StateCanceled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s, want CANCELED; operation %+v", j.State, j.Op)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if j.Reason != "canceled" || j.Op.Result != ops.Completed || j.Op.Phase != ops.Done {
		t.Errorf("job reason %q, operation %+v; want canceled, completed", j.Reason, *j.Op)
	}
	if n := mustObjectsLeft(t, cs, ns, id); n != 0 {
		t.Errorf("objects of the cluster left: %d, want 0", n)
	}
	if _, err := cs.AppsV1().Deployments(ns).Get(ctx, id, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("JobManager Deployment: %v, want not found", err)
	}
	sel := metav1.ListOptions{LabelSelector: labelApp + "=" + id}
	cms, err := cs.CoreV1().ConfigMaps(ns).List(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	svcs, err := cs.CoreV1().Services(ns).List(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	if len(cms.Items)+len(svcs.Items) != 0 {
		t.Errorf("ConfigMaps %d, Services %d labelled app=%s left, want none", len(cms.Items), len(svcs.Items), id)
	}
	if st := jm.Job(jobID).State(); st != flinksim.Canceled {
		t.Errorf("Flink job %s, want CANCELED", st)
	}
	if got := f.n("cancel", jobID); got != 1 {
		t.Errorf("Flink cancel calls: %d, want 1", got)
	}
	evs := opEventsUntil(e.events, key, req.RequestID, atLeast(2))
	var got []string
	for _, ev := range evs {
		got = append(got, fmt.Sprintf("%s>%s %s %s", ev.From, ev.To, ev.Reason, ev.Operation.Status))
	}
	want := []string{"RUNNING>CANCELLING cancel_requested requested", "CANCELLING>CANCELED canceled completed"}
	if !slices.Equal(got, want) {
		t.Errorf("status events of the cancel %q, want %q", got, want)
	}
	t.Logf("cancel: %d objects of the cluster before (%d applied), 0 after; events %q", left, created, got)
}

// TestOpRetentionAndDispose: with a history of two, three savepoints keep
// the two newest and the oldest is disposed through Flink; a dispose
// operation of a history entry (delivered twice) disposes it through
// Flink once and removes it from the history.
func TestOpRetentionAndDispose(t *testing.T) {
	t.Parallel()
	e := newOpsEnv(t, func(c *TrackConfig) { c.SavepointsMaxCount = 2 })
	ctx := context.Background()
	const ns, id = "flink", "retained"
	key, jm := e.addJob(t, ns, id, jobIDOf(50), flinksim.SavepointSpec{Duration: 10 * time.Second}, 0)
	f := e.flink()
	e.start(t, "r1", f, nil)
	waitState(t, e.store, key, messages.StateRunning, 15*time.Second)
	job := messages.JobRef{Namespace: ns, ClusterID: id}

	var paths []string
	for i := range 3 {
		req := messages.ControlRequested{RequestID: fmt.Sprintf("ret-%d", i+1), Job: job, Operation: messages.OpSavepoint}
		e.handle(t, req)
		waitTriggered(t, e.store, key, req.RequestID)
		e.clock.Advance(10 * time.Second)
		j := waitOpDone(t, e.store, key, req.RequestID, 10*time.Second)
		if j.Op.Result != ops.Completed {
			t.Fatalf("savepoint %s: %+v", req.RequestID, *j.Op)
		}
		paths = append(paths, j.Op.Location)
	}
	hist, err := e.store.Savepoints(ctx, key, 0)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, h := range hist {
		kept = append(kept, h.Path)
	}
	if want := []string{paths[2], paths[1]}; !slices.Equal(kept, want) {
		t.Errorf("history %q, want the two newest %q", kept, want)
	}
	if got := jm.Disposals(); !slices.Equal(got, paths[:1]) {
		t.Errorf("Flink disposals %q, want the dropped %q", got, paths[0])
	}
	if got, want := jm.Savepoints(), slices.Sorted(slices.Values(paths[1:])); !slices.Equal(got, want) {
		t.Errorf("Flink's savepoints %q, want %q", got, want)
	}
	t.Logf("3 savepoints, history of 2: kept %q, disposed %q", kept, jm.Disposals())

	// Dispose the older kept one, delivered twice.
	dispose := messages.ControlRequested{RequestID: "disp-1", Job: job, Operation: messages.OpDispose, SavepointPath: paths[1]}
	e.handle(t, dispose)
	e.handle(t, dispose)
	j := waitOpDone(t, e.store, key, dispose.RequestID, 10*time.Second)
	if j.Op.Result != ops.Completed || j.State != messages.StateRunning {
		t.Fatalf("dispose: %+v, job %s; want completed, RUNNING", *j.Op, j.State)
	}
	if got := f.n("dispose", paths[1]); got != 1 {
		t.Errorf("Flink disposal calls for %s: %d, want 1", paths[1], got)
	}
	if got, want := jm.Savepoints(), paths[2:]; !slices.Equal(got, want) {
		t.Errorf("Flink's savepoints after the dispose %q, want %q", got, want)
	}
	hist, err = e.store.Savepoints(ctx, key, 0)
	if err != nil {
		t.Fatal(err)
	}
	kept = kept[:0]
	for _, h := range hist {
		kept = append(kept, h.Path)
	}
	if want := paths[2:]; !slices.Equal(kept, want) {
		t.Errorf("history after the dispose %q, want %q", kept, want)
	}
	// The step changes no state: an event of its own, published at once.
	waitUntil(t, 3*time.Second, "the dispose's status event", func() bool { return len(opEvents(e.events, key, dispose.RequestID)) > 0 })
	evs := opEvents(e.events, key, dispose.RequestID)
	if len(evs) != 1 || evs[0].Reason != "savepoint_disposed" || evs[0].Operation.Status != messages.OperationCompleted {
		t.Errorf("status events of the dispose:%s\nwant one savepoint_disposed, completed", describe(evs))
	}
	// The disposed savepoint is no longer the history's: disposing it
	// again is refused.
	again := messages.ControlRequested{RequestID: "disp-2", Job: job, Operation: messages.OpDispose, SavepointPath: paths[1]}
	if _, err := e.ctl.Handle(ctx, &again); failure.Reason(err) != messages.RefusedNotAllowed {
		t.Errorf("dispose of a disposed savepoint: %v, want %s", err, messages.RefusedNotAllowed)
	}

	// A savepoint of the history that storage no longer has (deleted by
	// hand): Flink's disposal fails FileNotFoundException, the savepoint is
	// gone either way, and so goes its entry.
	const gone = "s3://flink/savepoints/savepoint-gone-0123456789ab"
	if _, err := e.store.AddSavepoint(ctx, key, jobstore.SavepointEntry{Path: gone, Time: e.clock.Now(),
		Trigger: jobstore.TriggerManual, Result: ops.Completed, RequestID: "by-hand"}); err != nil {
		t.Fatal(err)
	}
	lost := messages.ControlRequested{RequestID: "disp-3", Job: job, Operation: messages.OpDispose, SavepointPath: gone}
	e.handle(t, lost)
	if j := waitOpDone(t, e.store, key, lost.RequestID, 10*time.Second); j.Op.Result != ops.Completed {
		t.Fatalf("dispose of a savepoint storage lost: %+v, want completed", *j.Op)
	}
	if ok, err := e.store.HasSavepoint(ctx, key, gone); err != nil || ok {
		t.Errorf("the lost savepoint is still in the history (%v)", err)
	}
}
