package track

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/flinkrest"
	"github.com/flinkferry/flinkferry/internal/flinksim"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/ops"
)

// Restarts (issue 15) on the real peers: the control handler called
// directly, the tracker against redis-server and the Flink REST
// simulator; the submit worker's part (deploying the image built event)
// is played by the test, which registers the new run as its deployed
// event would.

// startRedeploying starts a tracker replica that publishes redeploys to r.
func (e *opsEnv) startRedeploying(t *testing.T, id string, f *countingFlink, r Redeployer) *replica {
	t.Helper()
	return startReplicaWith(t, e.r, e.cfg, id, Deps{Flink: f, Publisher: e.events, Redeployer: r},
		func(tr *Tracker) { tr.now = e.clock.Now })
}

// runRequest is an application run's request as the submit worker
// deployed it (the deployed event carries it), for job of namespace ns.
func runRequest(requestID string, job messages.JobRef, mode messages.Mode) *messages.SubmitRequested {
	r := &messages.SubmitRequested{
		RequestID: requestID, Job: job, Mode: mode,
		Flink: messages.FlinkOptions{Version: "1.20", Parallelism: 2,
			DynamicOptions: []string{"-Dstate.checkpoints.dir=s3://bucket/checkpoints"}},
		Program: &messages.Program{Jar: messages.Jar{URL: "https://artifacts.example.com/jobs/wordcount-1.0.jar"}, MainClass: "org.example.WordCount"},
	}
	if mode == messages.ModeSession {
		r.SessionClusterID = "shared"
		r.Flink.DynamicOptions = nil
	}
	return r
}

// addRunningJob adds a simulated application JobManager for cluster id
// running spec and registers the job as deployed with its request (so it
// can be deployed again). It returns the job's key.
func (e *opsEnv) addRunningJob(t *testing.T, ns, id string, spec flinksim.JobSpec, edits ...func(*messages.Deployed)) (string, *flinksim.Cluster) {
	t.Helper()
	jm := e.sim.AddCluster(kubeclusters.RestServiceName(id), flinksim.ClusterOptions{Application: true, Clock: e.clock, Jobs: []flinksim.JobSpec{spec}})
	ev := deployed(ns, id, spec.ID, restURL(ns, id))
	ev.Time = e.clock.Now().UTC()
	ev.Request = runRequest(ev.RequestID, ev.Job, messages.ModeApplication)
	ev.JarName, ev.JarSHA256 = "wordcount-1.0.jar", strings.Repeat("c", 64)
	for _, edit := range edits {
		edit(ev)
	}
	if _, err := e.store.Register(context.Background(), ev, time.Now()); err != nil {
		t.Fatal(err)
	}
	return ev.Job.Key(), jm
}

// registerNewRun plays the submit worker: the image built event deployed,
// its job added to the simulated JobManager, its deployed event
// registered.
func (e *opsEnv) registerNewRun(t *testing.T, ib messages.ImageBuilt, jm *flinksim.Cluster, endpoint string) {
	t.Helper()
	jobID := ib.Request.FlinkJobID()
	jm.AddJob(flinksim.JobSpec{ID: jobID, Script: flinksim.Script{{State: flinksim.Running}}, Checkpoints: flinksim.CheckpointSpec{Interval: 10 * time.Second}})
	d := &messages.Deployed{
		RequestID: ib.RequestID, Job: ib.Job, Mode: ib.Mode, FlinkJobID: jobID, Image: ib.Image,
		SessionClusterID: ib.Request.SessionClusterID, RestEndpoint: endpoint, WebUIURL: endpoint + "/", Time: e.clock.Now().UTC(),
		Request: &ib.Request, JarName: ib.JarName, JarArtifact: ib.JarArtifact, JarSHA256: ib.JarSHA256,
	}
	if _, err := e.store.Register(context.Background(), d, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
}

// stepSummary is an event reduced to what a restart's steps are checked on.
type stepSummary struct {
	from, to messages.JobState
	reason   string
	status   messages.OperationStatus
	path     string
}

func summarize(evs []messages.JobStatusChanged) []stepSummary {
	var out []stepSummary
	for _, x := range evs {
		out = append(out, stepSummary{x.From, x.To, x.Reason, x.Operation.Status, x.SavepointPath})
	}
	return out
}

// TestRestartRunningJobFromItsSavepoint: a restart of a RUNNING
// application job, delivered twice, stops the job with one savepoint
// (history trigger restart), hands the job's own request back under the
// restart's request id restoring from exactly that savepoint, and shows
// REDEPLOYING until the new run is registered, which then runs.
func TestRestartRunningJobFromItsSavepoint(t *testing.T) {
	t.Parallel()
	e := newOpsEnv(t, nil)
	ctx := context.Background()
	const ns, id = "flink", "rs1"
	jobID := jobIDOf(40)
	key, jm := e.addRunningJob(t, ns, id, flinksim.JobSpec{ID: jobID, Script: flinksim.Script{{State: flinksim.Running}},
		Savepoints: flinksim.SavepointSpec{Duration: 20 * time.Second}})
	f, redeploys := e.flink(), &redeployLog{}
	e.startRedeploying(t, "r1", f, redeploys)
	waitState(t, e.store, key, messages.StateRunning, 15*time.Second)

	req := messages.ControlRequested{RequestID: "rs1-restart", Job: messages.JobRef{Namespace: ns, ClusterID: id}, Operation: messages.OpRestart}
	e.handle(t, req)
	e.handle(t, req) // a redelivery
	waitJob(t, e.store, key, 10*time.Second, "REDEPLOYING, the savepoint triggered", func(j *jobstore.Job) bool {
		return j.State == messages.StateRedeploying && j.Op != nil && j.Op.Phase == ops.Triggered
	})
	e.clock.Advance(20 * time.Second)
	j := waitOpDone(t, e.store, key, req.RequestID, 10*time.Second)
	sps := jm.Savepoints()
	if j.Op.Result != ops.Completed || len(sps) != 1 || j.Op.Location != sps[0] {
		t.Fatalf("operation %+v; Flink's savepoints %v, want completed at the one savepoint", *j.Op, sps)
	}
	if got := f.n("stop", flinkrest.TriggerID(req.RequestID)); got != 1 {
		t.Errorf("stop-with-savepoint triggered %d times, want 1", got)
	}
	if got := f.n("cancel", jobID); got != 0 {
		t.Errorf("the job was cancelled %d times, want 0 (stopped with a savepoint)", got)
	}
	hist, err := e.store.Savepoints(ctx, key, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].Path != sps[0] || hist[0].Trigger != jobstore.TriggerRestart || hist[0].RequestID != req.RequestID {
		t.Errorf("savepoint history %+v, want the restart's savepoint", hist)
	}

	evs := redeploys.all()
	if len(evs) != 1 {
		t.Fatalf("%d image built events published, want 1: %+v", len(evs), evs)
	}
	ib := evs[0]
	if ib.RequestID != req.RequestID || ib.Request.RequestID != req.RequestID || ib.Image != j.Image || ib.JarName != "wordcount-1.0.jar" {
		t.Errorf("image built: request id %s (request %s), image %s, jar %s; want the restart's request id, the run's image and jar",
			ib.RequestID, ib.Request.RequestID, ib.Image, ib.JarName)
	}
	if sp := ib.Request.Program.Savepoint; sp == nil || sp.Path != sps[0] || sp.AllowNonRestoredState || sp.RestoreMode != "" {
		t.Errorf("image built restores from %+v, want %s", sp, sps[0])
	}
	if ib.Request.Program.MainClass != "org.example.WordCount" || ib.Request.Flink.Parallelism != 2 {
		t.Errorf("image built request %+v is not the run's", ib.Request)
	}
	if ib.Request.FlinkJobID() == jobID {
		t.Errorf("the new run has the old run's Flink job id %s", jobID)
	}
	j = waitState(t, e.store, key, messages.StateRedeploying, 5*time.Second)
	if j.RequestID != "req-"+id {
		t.Fatalf("run %s before the new one registers, want req-%s", j.RequestID, id)
	}

	e.registerNewRun(t, ib, jm, restURL(ns, id))
	j = waitJob(t, e.store, key, 15*time.Second, "the new run RUNNING", func(j *jobstore.Job) bool {
		return j.RequestID == req.RequestID && j.State == messages.StateRunning
	})
	want := []stepSummary{
		{messages.StateRunning, messages.StateRedeploying, "restart_requested", messages.OperationRequested, ""},
		{messages.StateRedeploying, messages.StateRedeploying, "savepoint_completed", messages.OperationInProgress, sps[0]},
		{messages.StateRedeploying, messages.StateRedeploying, "restarted", messages.OperationCompleted, sps[0]},
	}
	got := opEvents(e.events, key, req.RequestID)
	if !slices.Equal(summarize(got), want) {
		t.Errorf("status events of the restart:%s\nwant %+v\nall: %s", describe(got), want, describe(e.events.of(key, time.Time{})))
	}
	// The job is RUNNING in Redis before its outbox entry is published:
	// wait for the event.
	var newRun []messages.JobState
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		newRun = newRun[:0]
		for _, ev := range e.events.of(key, time.Time{}) {
			if ev.RequestID == req.RequestID {
				newRun = append(newRun, ev.To)
			}
		}
		if (len(newRun) > 0 && newRun[len(newRun)-1] == messages.StateRunning) || time.Now().After(deadline) {
			break
		}
	}
	if len(newRun) == 0 || newRun[len(newRun)-1] != messages.StateRunning {
		t.Errorf("the new run's states %v, want ending RUNNING", newRun)
	}

	// The request delivered again once the new run runs: a no-op.
	e.handle(t, req)
	time.Sleep(time.Second)
	if j, _ := e.store.Get(ctx, key); j.State != messages.StateRunning || j.Op.RequestID != req.RequestID || j.Op.Phase != ops.Done {
		t.Fatalf("after a late redelivery: state %s, operation %+v", j.State, *j.Op)
	}
	if n := len(redeploys.all()); n != 1 || len(jm.Savepoints()) != 1 {
		t.Fatalf("a late redelivery restarted again: %d image built events, savepoints %v", n, jm.Savepoints())
	}
}

// TestRestartFromCheckpoint: a restart from the latest checkpoint, with
// allow_non_restored_state and restore mode CLAIM, cancels the running job
// (no savepoint) and restores from the latest checkpoint Flink completed
// before the cancel, newer than the one the tracker had recorded, the
// options passed through to the new run's request.
func TestRestartFromCheckpoint(t *testing.T) {
	t.Parallel()
	e := newOpsEnv(t, nil)
	const ns, id = "flink", "rc1"
	jobID := jobIDOf(41)
	key, jm := e.addRunningJob(t, ns, id, flinksim.JobSpec{ID: jobID, Script: flinksim.Script{{State: flinksim.Running}},
		Checkpoints: flinksim.CheckpointSpec{Interval: 10 * time.Second}})
	f, redeploys := e.flink(), &redeployLog{}
	e.startRedeploying(t, "r1", f, redeploys)
	waitState(t, e.store, key, messages.StateRunning, 15*time.Second)
	e.clock.Advance(35 * time.Second)
	j := waitJob(t, e.store, key, 10*time.Second, "a completed checkpoint recorded", func(j *jobstore.Job) bool {
		return j.Checkpoints.LastCompletedPath != ""
	})
	cp := j.Checkpoints.LastCompletedPath
	// The tracker's record falls behind: Flink completes two more
	// checkpoints it does not read (with one retained, the recorded one is
	// gone by then).
	jm.InjectFault(flinksim.Fault{Kind: flinksim.FaultError, Method: "GET", Path: "/jobs/{jobid}/checkpoints"})
	e.clock.Advance(25 * time.Second)
	if j, _ := e.store.Get(context.Background(), key); j.Checkpoints.LastCompletedPath != cp {
		t.Fatalf("the tracker read checkpoint %s through the fault", j.Checkpoints.LastCompletedPath)
	}

	req := messages.ControlRequested{RequestID: "rc1-restart", Job: messages.JobRef{Namespace: ns, ClusterID: id}, Operation: messages.OpRestart,
		Restore: &messages.RestoreOptions{From: messages.RestoreFromCheckpoint, AllowNonRestoredState: true, RestoreMode: messages.RestoreClaim}}
	e.handle(t, req)
	jm.ClearFaults()
	j = waitOpDone(t, e.store, key, req.RequestID, 15*time.Second)
	stats, err := f.Client.Checkpoints(context.Background(), restURL(ns, id), jobID)
	if err != nil || stats.Latest.Completed == nil {
		t.Fatalf("Flink's checkpoints of the cancelled job: %+v, %v", stats, err)
	}
	latest := stats.Latest.Completed.ExternalPath
	if j.Op.Result != ops.Completed || j.Op.Location != latest || checkpointN(latest) <= checkpointN(cp) {
		t.Fatalf("operation %+v, want completed restoring from Flink's latest checkpoint %s (recorded: %s)", *j.Op, latest, cp)
	}
	cp = latest
	if got := f.n("cancel", jobID); got < 1 {
		t.Errorf("the job was never cancelled")
	}
	if sps := jm.Savepoints(); len(sps) != 0 {
		t.Errorf("Flink took savepoints %v, want none", sps)
	}
	if st := jm.Job(jobID).State(); st != flinksim.Canceled {
		t.Errorf("the old job is %s, want CANCELED", st)
	}
	evs := redeploys.of(req.RequestID)
	if len(evs) != 1 {
		t.Fatalf("%d image built events, want 1", len(evs))
	}
	sp := evs[0].Request.Program.Savepoint
	if sp == nil || sp.Path != cp || !sp.AllowNonRestoredState || sp.RestoreMode != messages.RestoreClaim {
		t.Fatalf("the new run restores from %+v, want %s with allow_non_restored_state and CLAIM", sp, cp)
	}
	if hist, _ := e.store.Savepoints(context.Background(), key, 0); len(hist) != 0 {
		t.Errorf("savepoint history %+v, want none", hist)
	}
}

// TestRestartEndedJobs: a job that no longer runs is deployed again
// without asking Flink anything: an application job that FAILED from a
// given path, a session job that was CANCELED without state (it gets a
// new Flink job id on its session cluster).
func TestRestartEndedJobs(t *testing.T) {
	t.Parallel()
	e := newOpsEnv(t, nil)
	ctx := context.Background()
	f, redeploys := e.flink(), &redeployLog{}

	const ns, id = "flink", "rf1"
	jobID := jobIDOf(42)
	key, jm := e.addRunningJob(t, ns, id, flinksim.JobSpec{ID: jobID, Script: flinksim.Script{{State: flinksim.Running}}})

	const sid = "rsj"
	sjobID := jobIDOf(43)
	session := e.sim.AddCluster(kubeclusters.RestServiceName("shared"), flinksim.ClusterOptions{Clock: e.clock,
		Jobs: []flinksim.JobSpec{{ID: sjobID, Script: flinksim.Script{{State: flinksim.Running}}}}})
	sd := deployed(ns, sid, sjobID, restURL(ns, "shared"))
	sd.Mode, sd.SessionClusterID, sd.Image = messages.ModeSession, "shared", ""
	sd.Request = runRequest(sd.RequestID, sd.Job, messages.ModeSession)
	sd.JarName, sd.JarArtifact = "wordcount-1.0.jar", "registry.example.com/flinkferry/jars/wordcount@sha256:"+strings.Repeat("b", 64)
	sd.JarSHA256 = strings.Repeat("c", 64)
	if _, err := e.store.Register(ctx, sd, time.Now()); err != nil {
		t.Fatal(err)
	}
	skey := sd.Job.Key()

	e.startRedeploying(t, "r1", f, redeploys)
	waitState(t, e.store, key, messages.StateRunning, 15*time.Second)
	waitState(t, e.store, skey, messages.StateRunning, 15*time.Second)
	jm.Job(jobID).Fail("java.lang.IllegalStateException: boom")
	session.Job(sjobID).SetState(flinksim.Canceled)
	waitState(t, e.store, key, messages.StateFailed, 10*time.Second)
	waitState(t, e.store, skey, messages.StateCanceled, 10*time.Second)

	const path = "s3://bucket/savepoints/savepoint-given"
	app := messages.ControlRequested{RequestID: "rf1-restart", Job: messages.JobRef{Namespace: ns, ClusterID: id}, Operation: messages.OpRestart,
		Restore: &messages.RestoreOptions{From: messages.RestoreFromPath, Path: path, RestoreMode: messages.RestoreNoClaim}}
	sess := messages.ControlRequested{RequestID: "rsj-restart", Job: messages.JobRef{Namespace: ns, ClusterID: sid}, Operation: messages.OpRestart,
		Restore: &messages.RestoreOptions{From: messages.RestoreFromNone}}
	e.handle(t, app)
	e.handle(t, sess)
	for _, c := range []struct {
		key string
		req messages.ControlRequested
	}{{key, app}, {skey, sess}} {
		j := waitOpDone(t, e.store, c.key, c.req.RequestID, 10*time.Second)
		if j.Op.Result != ops.Completed || !j.Op.Offline {
			t.Fatalf("%s: operation %+v, want completed offline", c.key, *j.Op)
		}
		waitState(t, e.store, c.key, messages.StateRedeploying, 5*time.Second)
	}
	if n := f.n("stop", flinkrest.TriggerID(app.RequestID)) + f.n("cancel", jobID) + f.n("cancel", sjobID); n != 0 {
		t.Errorf("%d Flink calls for jobs that ended, want 0", n)
	}
	ib := redeploys.of(app.RequestID)
	if len(ib) != 1 || ib[0].Request.Program.Savepoint == nil || ib[0].Request.Program.Savepoint.Path != path ||
		ib[0].Request.Program.Savepoint.RestoreMode != messages.RestoreNoClaim {
		t.Fatalf("application image built %+v, want one restoring from %s (NO_CLAIM)", ib, path)
	}
	sb := redeploys.of(sess.RequestID)
	if len(sb) != 1 || sb[0].Request.Program.Savepoint != nil || sb[0].Request.Program.FlinkJobID != "" || sb[0].JarArtifact != sd.JarArtifact ||
		sb[0].Request.FlinkJobID() == sjobID {
		t.Fatalf("session image built %+v, want one without state, a new Flink job id, the stored jar artifact", sb)
	}
	e.registerNewRun(t, sb[0], session, restURL(ns, "shared"))
	waitJob(t, e.store, skey, 10*time.Second, "the restarted session job RUNNING", func(j *jobstore.Job) bool {
		return j.RequestID == sess.RequestID && j.State == messages.StateRunning
	})
}

// TestRestartRefusals: what cannot be restarted is refused with
// operation_not_allowed and nothing recorded.
func TestRestartRefusals(t *testing.T) {
	t.Parallel()
	e := newOpsEnv(t, nil)
	ctx := context.Background()
	const ns = "flink"
	bare, _ := e.addJob(t, ns, "rr-bare", jobIDOf(44), flinksim.SavepointSpec{}, 0) // deployed without its request
	sc := deployed(ns, "rr-session", "", restURL(ns, "rr-session"))
	sc.Mode = messages.ModeSessionCluster
	if _, err := e.store.Register(ctx, sc, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, key string
		req       messages.ControlRequested
		want      string
	}{
		{"no stored request", bare, messages.ControlRequested{RequestID: "rr-1", Job: messages.JobRef{Namespace: ns, ClusterID: "rr-bare"}, Operation: messages.OpRestart},
			"request is not stored"},
		{"a session cluster", sc.Job.Key(), messages.ControlRequested{RequestID: "rr-2", Job: sc.Job, Operation: messages.OpRestart},
			"session cluster is not restarted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.ctl.Handle(ctx, &tc.req)
			if err == nil {
				t.Fatal("Handle() = nil, want a refusal")
			}
			refused := e.refusals.of(tc.req.RequestID)
			if len(refused) != 1 || refused[0].Reason != messages.RefusedNotAllowed || !strings.Contains(refused[0].Message, tc.want) {
				t.Fatalf("refusals %+v, want one operation_not_allowed saying %q", refused, tc.want)
			}
			if j, _ := e.store.Get(ctx, tc.key); j.Op != nil {
				t.Fatalf("operation %+v recorded", *j.Op)
			}
		})
	}
}

// TestRestartSurvivesACrash: tracker A stops the job with a two-minute
// savepoint for a restart and is killed (its leases left to expire);
// tracker B takes the shard over, follows the same trigger id and hands
// the run over: one stop-with-savepoint, one savepoint in Flink and in the
// history, one image built event.
func TestRestartSurvivesACrash(t *testing.T) {
	t.Parallel()
	e := newOpsEnv(t, func(c *TrackConfig) { c.LeaseTTL = time.Second })
	ctx := context.Background()
	const ns, id = "flink", "rk1"
	jobID := jobIDOf(45)
	key, jm := e.addRunningJob(t, ns, id, flinksim.JobSpec{ID: jobID, Script: flinksim.Script{{State: flinksim.Running}},
		Savepoints: flinksim.SavepointSpec{Duration: 2 * time.Minute}})
	redeploys := &redeployLog{}
	fa := e.flink()
	a := e.startRedeploying(t, "a", fa, redeploys)
	waitState(t, e.store, key, messages.StateRunning, 15*time.Second)

	req := messages.ControlRequested{RequestID: "rk1-restart", Job: messages.JobRef{Namespace: ns, ClusterID: id}, Operation: messages.OpRestart}
	trigger := flinkrest.TriggerID(req.RequestID)
	e.handle(t, req)
	waitJob(t, e.store, key, 10*time.Second, "the restart's savepoint triggered", func(j *jobstore.Job) bool {
		return j.Op != nil && j.Op.Phase == ops.Triggered && j.State == messages.StateRedeploying
	})
	a.kill()
	e.clock.Advance(time.Minute)
	fb := e.flink()
	e.startRedeploying(t, "b", fb, redeploys)
	waitUntil(t, 10*time.Second, "B polls the restart's trigger id", func() bool { return fb.n("status", trigger) > 0 })
	e.clock.Advance(time.Minute)
	j := waitOpDone(t, e.store, key, req.RequestID, 15*time.Second)
	sps := jm.Savepoints()
	if j.Op.Result != ops.Completed || len(sps) != 1 || j.Op.Location != sps[0] {
		t.Fatalf("operation %+v; Flink's savepoints %v, want completed at the one savepoint", *j.Op, sps)
	}
	if got := fa.n("stop", trigger) + fb.n("stop", trigger); got != 1 {
		t.Errorf("stop-with-savepoint triggered %d times (A %d, B %d), want 1", got, fa.n("stop", trigger), fb.n("stop", trigger))
	}
	if evs := redeploys.all(); len(evs) != 1 || evs[0].Request.Program.Savepoint == nil || evs[0].Request.Program.Savepoint.Path != sps[0] {
		t.Fatalf("image built events %+v, want one restoring from %s", evs, sps[0])
	}
	if hist, _ := e.store.Savepoints(ctx, key, 0); len(hist) != 1 || hist[0].Trigger != jobstore.TriggerRestart {
		t.Errorf("savepoint history %+v, want the restart's one savepoint", hist)
	}
}

// checkpointN is n of a .../chk-n path, -1 otherwise.
func checkpointN(p string) int {
	i := strings.LastIndex(p, "/chk-")
	if i < 0 {
		return -1
	}
	n := 0
	for _, c := range p[i+5:] {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// TestRestartAfterAFailedHandOver: a restart's new run never registers
// (its deploy failed: the job shows REDEPLOYING, its cluster gone); a
// second restart deploys the stored run again without asking Flink about
// the job that is gone, and its run then runs.
func TestRestartAfterAFailedHandOver(t *testing.T) {
	t.Parallel()
	e := newOpsEnv(t, nil)
	const ns, id = "flink", "rh1"
	jobID := jobIDOf(46)
	key, jm := e.addRunningJob(t, ns, id, flinksim.JobSpec{ID: jobID, Script: flinksim.Script{{State: flinksim.Running}}})
	f, redeploys := e.flink(), &redeployLog{}
	e.startRedeploying(t, "r1", f, redeploys)
	waitState(t, e.store, key, messages.StateRunning, 15*time.Second)

	first := messages.ControlRequested{RequestID: "rh1-restart-1", Job: messages.JobRef{Namespace: ns, ClusterID: id}, Operation: messages.OpRestart,
		Restore: &messages.RestoreOptions{From: messages.RestoreFromNone}}
	e.handle(t, first)
	waitOpDone(t, e.store, key, first.RequestID, 10*time.Second)
	waitState(t, e.store, key, messages.StateRedeploying, 5*time.Second)
	cancels := f.n("cancel", jobID)

	const path = "s3://bucket/savepoints/savepoint-kept"
	second := messages.ControlRequested{RequestID: "rh1-restart-2", Job: first.Job, Operation: messages.OpRestart,
		Restore: &messages.RestoreOptions{From: messages.RestoreFromPath, Path: path}}
	e.handle(t, second)
	j := waitOpDone(t, e.store, key, second.RequestID, 10*time.Second)
	if j.Op.Result != ops.Completed || !j.Op.Offline {
		t.Fatalf("second restart %+v, want completed without Flink", *j.Op)
	}
	if got := f.n("cancel", jobID); got != cancels {
		t.Errorf("the second restart cancelled the gone job (%d calls, %d before)", got, cancels)
	}
	evs := redeploys.of(second.RequestID)
	if len(evs) != 1 || evs[0].Request.Program.Savepoint == nil || evs[0].Request.Program.Savepoint.Path != path || evs[0].Request.Program.MainClass != "org.example.WordCount" {
		t.Fatalf("second image built %+v, want the stored run restoring from %s", evs, path)
	}
	e.registerNewRun(t, evs[0], jm, restURL(ns, id))
	waitJob(t, e.store, key, 10*time.Second, "the second restart's run RUNNING", func(j *jobstore.Job) bool {
		return j.RequestID == second.RequestID && j.State == messages.StateRunning
	})
}

// TestRestartRequestIDConflict: the same restart request id with another
// restore point is refused request_id_conflict, naming both hashes, and
// the recorded restart goes on unchanged.
func TestRestartRequestIDConflict(t *testing.T) {
	t.Parallel()
	e := newOpsEnv(t, nil)
	ctx := context.Background()
	const ns, id = "flink", "rq1"
	key, _ := e.addRunningJob(t, ns, id, flinksim.JobSpec{ID: jobIDOf(49), Script: flinksim.Script{{State: flinksim.Running}},
		Savepoints: flinksim.SavepointSpec{Duration: time.Minute}})
	e.startRedeploying(t, "r1", e.flink(), &redeployLog{})
	waitState(t, e.store, key, messages.StateRunning, 15*time.Second)
	req := messages.ControlRequested{RequestID: "rq1-restart", Job: messages.JobRef{Namespace: ns, ClusterID: id}, Operation: messages.OpRestart}
	e.handle(t, req)
	before, _ := e.store.Get(ctx, key)
	other := req
	other.Restore = &messages.RestoreOptions{From: messages.RestoreFromNone}
	if _, err := e.ctl.Handle(ctx, &other); err == nil {
		t.Fatal("Handle() = nil, want a refusal")
	}
	h1, _ := messages.ContentHash(&req)
	h2, _ := messages.ContentHash(&other)
	r := e.refusals.of(req.RequestID)
	if len(r) != 1 || r[0].Reason != messages.RefusedConflict || !strings.Contains(r[0].Message, h1) || !strings.Contains(r[0].Message, h2) {
		t.Fatalf("refusals %+v, want one request_id_conflict naming %s and %s", r, h1, h2)
	}
	after, _ := e.store.Get(ctx, key)
	if after.Op.RequestID != before.Op.RequestID || after.OpHash != h1 || after.Op.Request.Restore != nil {
		t.Fatalf("the conflict changed the operation: %s (hash %s), was %s", opSummary(after.Op), after.OpHash, opSummary(before.Op))
	}
}

// TestRestartOfAJobThatDoesNotAnswer: a job Flink is restarting cannot be
// restarted from a new savepoint (refused, nothing recorded); an
// application job whose JobManager never answered (STARTING) is restarted
// without asking Flink: its cluster removed, its request deployed again.
func TestRestartOfAJobThatDoesNotAnswer(t *testing.T) {
	t.Parallel()
	e := newOpsEnv(t, nil)
	ctx := context.Background()
	const ns = "flink"
	jobID := jobIDOf(47)
	key, jm := e.addRunningJob(t, ns, "rn1", flinksim.JobSpec{ID: jobID, Script: flinksim.Script{{State: flinksim.Running}}})
	d := deployed(ns, "rn2", jobIDOf(48), restURL(ns, "rn2")) // no JobManager answers
	d.Request = runRequest(d.RequestID, d.Job, messages.ModeApplication)
	d.JarName, d.JarSHA256 = "wordcount-1.0.jar", strings.Repeat("c", 64)
	if _, err := e.store.Register(ctx, d, time.Now()); err != nil {
		t.Fatal(err)
	}
	f, redeploys := e.flink(), &redeployLog{}
	e.startRedeploying(t, "r1", f, redeploys)
	waitState(t, e.store, key, messages.StateRunning, 15*time.Second)
	jm.Job(jobID).SetState(flinksim.Restarting)
	waitState(t, e.store, key, messages.StateRestarting, 10*time.Second)

	req := messages.ControlRequested{RequestID: "rn1-restart", Job: messages.JobRef{Namespace: ns, ClusterID: "rn1"}, Operation: messages.OpRestart}
	if _, err := e.ctl.Handle(ctx, &req); err == nil {
		t.Fatal("Handle() = nil, want a refusal")
	}
	if r := e.refusals.of(req.RequestID); len(r) != 1 || r[0].Reason != messages.RefusedNotAllowed || !strings.Contains(r[0].Message, "RUNNING job only") {
		t.Fatalf("refusals %+v, want operation_not_allowed naming the state", r)
	}
	if j, _ := e.store.Get(ctx, key); j.Op != nil {
		t.Fatalf("operation %+v recorded", *j.Op)
	}

	skey := d.Job.Key()
	if j, _ := e.store.Get(ctx, skey); j.State != messages.StateStarting {
		t.Fatalf("job rn2 is %s, want STARTING", j.State)
	}
	sreq := messages.ControlRequested{RequestID: "rn2-restart", Job: d.Job, Operation: messages.OpRestart, Restore: &messages.RestoreOptions{From: messages.RestoreFromNone}}
	e.handle(t, sreq)
	j := waitOpDone(t, e.store, skey, sreq.RequestID, 10*time.Second)
	if j.Op.Result != ops.Completed || !j.Op.Offline || f.n("cancel", jobIDOf(48)) != 0 {
		t.Fatalf("operation %+v (cancels %d), want completed without Flink", *j.Op, f.n("cancel", jobIDOf(48)))
	}
	if evs := redeploys.of(sreq.RequestID); len(evs) != 1 || evs[0].Request.Program.Savepoint != nil {
		t.Fatalf("image built events %+v, want one without state", evs)
	}
}
