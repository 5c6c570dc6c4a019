package track

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/flinkrest"
	"github.com/flinkferry/flinkferry/internal/flinksim"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/submit"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/ops"
)

// A move between two Kubernetes clusters (issue 15, docs/upgrades.md) on
// two real control planes: the submit worker's handler deploys and hands
// over, the track worker's control handler and tracker (Redis, the Flink
// REST simulator) stop the job with a savepoint, remove its cluster in the
// first control plane and hand the request back; the test plays Kafka
// (passing each handler's output to the next) and Flink's JobManagers.

// moveEnv is two control planes, a clusters set naming both, the submit
// worker's handler and a tracker replica.
type moveEnv struct {
	*opsEnv
	a, b      kubernetes.Interface
	submit    *submit.Handler
	redeploys *redeployLog
	flink     *countingFlink
}

const moveNS = "flink-mv"

func newMoveEnv(t *testing.T) *moveEnv {
	t.Helper()
	e := &moveEnv{opsEnv: newOpsEnv(t, nil), redeploys: &redeployLog{}}
	e.a = kubetest.Shared(t).Clientset()
	e.b = kubetest.Start(t, kubetest.Options{}).Clientset()
	for _, cs := range []kubernetes.Interface{e.a, e.b} {
		if _, err := cs.CoreV1().Namespaces().Get(context.Background(), moveNS, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			kubetest.CreateNamespace(t, cs, moveNS)
		}
		// No controller manager makes the namespace's default account.
		if _, err := cs.CoreV1().ServiceAccounts(moveNS).Create(context.Background(), &corev1.ServiceAccount{
			ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	clusters := &kubeclusters.Set{}
	clusters.Add(kubeclusters.Config{Name: "a", Default: true, AllowedNamespaces: []string{moveNS}}, e.a)
	clusters.Add(kubeclusters.Config{Name: "b", AllowedNamespaces: []string{moveNS}}, e.b)
	e.submit = &submit.Handler{Clusters: clusters, Topics: messages.DefaultTopics("flinkferry.")}
	e.flink = e.opsEnv.flink()
	startReplicaWith(t, e.r, e.cfg, "r1", Deps{Flink: e.flink, Publisher: e.events, Redeployer: e.redeploys, Clusters: clusters},
		func(tr *Tracker) { tr.now = e.clock.Now })
	return e
}

// request is an application request for job, with dynamic options.
func moveRequest(requestID string, job messages.JobRef, opts ...string) *messages.ImageBuilt {
	req := runRequest(requestID, job, messages.ModeApplication)
	req.Flink.DynamicOptions = append(req.Flink.DynamicOptions, opts...)
	return &messages.ImageBuilt{
		RequestID: requestID, Job: job, Mode: messages.ModeApplication,
		Image:   "registry.example.com/flinkferry/wc@sha256:" + strings.Repeat("0", 63) + "1",
		JarName: "wordcount-1.0.jar", JarSHA256: strings.Repeat("c", 64), Time: time.Now().UTC(), Request: *req,
	}
}

// deliver hands ev to the submit worker's handler and returns its one
// output.
func (e *moveEnv) deliver(t *testing.T, ev *messages.ImageBuilt) bus.Out {
	t.Helper()
	outs, err := e.submit.Handle(context.Background(), ev)
	if err != nil || len(outs) != 1 {
		t.Fatalf("submit Handle(%s) = %+v, %v; want one output", ev.RequestID, outs, err)
	}
	return outs[0]
}

// run deploys ev in its place and plays its JobManager (a running job on
// the simulator, a TaskManager pod), registering the run through the
// track worker's deployed handler. It returns the job's key.
func (e *moveEnv) run(t *testing.T, ev *messages.ImageBuilt, cs kubernetes.Interface) (string, *flinksim.Cluster) {
	key, jm, _ := e.runDeployed(t, ev, cs)
	return key, jm
}

// runDeployed is run, also returning the deployed event registered.
func (e *moveEnv) runDeployed(t *testing.T, ev *messages.ImageBuilt, cs kubernetes.Interface) (string, *flinksim.Cluster, *messages.Deployed) {
	t.Helper()
	d, ok := e.deliver(t, ev).Event.(*messages.Deployed)
	if !ok {
		t.Fatalf("%s not deployed", ev.RequestID)
	}
	name := kubeclusters.RestServiceName(ev.Job.ClusterID)
	e.sim.RemoveCluster(name) // the simulator is addressed by cluster id: one JobManager at a time
	jm := e.sim.AddCluster(name, flinksim.ClusterOptions{Application: true, Clock: e.clock, Jobs: []flinksim.JobSpec{{
		ID: d.FlinkJobID, Script: flinksim.Script{{State: flinksim.Running}}, Savepoints: flinksim.SavepointSpec{Duration: 5 * time.Second}}}})
	d.RestEndpoint = restURL(ev.Job.Namespace, ev.Job.ClusterID)
	if _, err := cs.CoreV1().Pods(moveNS).Create(context.Background(), &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: ev.Job.ClusterID + "-taskmanager-1-1", Labels: map[string]string{
			"app": ev.Job.ClusterID, "type": "flink-native-kubernetes", "component": "taskmanager"}},
		// Not bound to a node: deleted at once, with no kubelet to confirm.
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "flink-main-container", Image: "flink:1.20"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := (&Handler{Store: e.store, Now: e.clock.Now}).Handle(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	return ev.Job.Key(), jm, d
}

// left counts the objects of cluster id labelled as Flink's in cs.
func left(t *testing.T, cs kubernetes.Interface, id string) (deployments, pods, configMaps int) {
	t.Helper()
	ctx, sel := context.Background(), metav1.ListOptions{LabelSelector: "app=" + id + ",type=flink-native-kubernetes"}
	ds, err := cs.AppsV1().Deployments(moveNS).List(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := cs.CoreV1().Pods(moveNS).List(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	cms, err := cs.CoreV1().ConfigMaps(moveNS).List(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	return len(ds.Items), len(ps.Items), len(cms.Items)
}

// TestMoveBetweenClusters: a job RUNNING in control plane a, a request for
// the same cluster id in b with upgrade.from naming a (delivered twice, and
// again once a's cluster is gone):
// one savepoint is taken in a, into the shared directory; nothing of the
// job is left in a; the job runs in b, its Flink configuration restoring
// from that savepoint; the old record ends TERMINATED (moved), one status
// event per step.
func TestMoveBetweenClusters(t *testing.T) {
	e := newMoveEnv(t)
	ctx := context.Background()
	const id = "mv1"
	from := messages.JobRef{KubeCluster: "a", Namespace: moveNS, ClusterID: id}
	to := messages.JobRef{KubeCluster: "b", Namespace: moveNS, ClusterID: id}
	keyA, _ := e.run(t, moveRequest("mv1-v1", from), e.a)
	waitState(t, e.store, keyA, messages.StateRunning, 15*time.Second)
	earlier := jobstore.SavepointEntry{Path: "s3://shared/savepoints/savepoint-000000-111111111111", Time: e.clock.Now().Add(-10 * time.Minute),
		Trigger: jobstore.TriggerManual, Result: ops.Completed, RequestID: "mv1-sp1", Format: messages.FormatCanonical}
	if _, err := e.store.AddSavepoint(ctx, keyA, earlier); err != nil {
		t.Fatal(err)
	}

	move := moveRequest("mv1-v2", to, "-Dstate.savepoints.dir=s3://shared/savepoints")
	move.Request.Upgrade = &messages.UpgradeOptions{From: &messages.UpgradeFrom{KubeCluster: "a"}}
	for range 2 { // a redelivery is the same hand-over
		out := e.deliver(t, move)
		up, ok := out.Event.(*messages.UpgradeRequested)
		if !ok || !slices.Equal(out.Topics, []string{e.submit.Topics.Control}) || up.JobKey() != keyA || up.Target == nil || *up.Target != to {
			t.Fatalf("submit output %+v on %v, want an upgrade of %s targeting %s on the control topic", out.Event, out.Topics, keyA, to.Key())
		}
		if err := up.Validate(); err != nil {
			t.Fatal(err)
		}
		if _, err := e.ctl.HandleAny(ctx, up); err != nil {
			t.Fatal(err)
		}
	}
	if n, _, _ := left(t, e.b, id); n != 0 {
		t.Fatalf("%d Deployments in b before the hand-back", n)
	}
	waitJob(t, e.store, keyA, 10*time.Second, "the savepoint triggered", func(j *jobstore.Job) bool {
		return j.State == messages.StateUpgrading && j.Op != nil && j.Op.Phase == ops.Triggered
	})
	e.clock.Advance(5 * time.Second)
	j := waitOpDone(t, e.store, keyA, move.RequestID, 15*time.Second)
	sps := e.sim.Cluster(kubeclusters.RestServiceName(id)).Savepoints()
	if j.Op.Result != ops.Completed || len(sps) != 1 || j.Op.Location != sps[0] || !strings.HasPrefix(sps[0], "s3://shared/savepoints/") {
		t.Fatalf("move %+v, savepoints %v: want completed at one savepoint under s3://shared/savepoints/", *j.Op, sps)
	}
	if got := e.flink.n("stop", flinkrest.TriggerID(move.RequestID)); got != 1 {
		t.Errorf("stop-with-savepoint triggered %d times, want 1", got)
	}
	if d, p, c := left(t, e.a, id); d+p+c != 0 {
		t.Errorf("left in a: %d Deployments, %d pods, %d ConfigMaps; want none", d, p, c)
	}

	// The request redelivered now (its submit worker killed before it
	// committed the hand-over), a's cluster gone: the mark in b hands it
	// over again, a duplicate for the track worker.
	up, ok := e.deliver(t, move).Event.(*messages.UpgradeRequested)
	if !ok || up.Running != "mv1-v1" {
		t.Fatalf("redelivery after the old cluster was removed: %+v, want handed over again", up)
	}
	if _, err := e.ctl.HandleAny(ctx, up); err != nil {
		t.Fatal(err)
	}

	// The hand-back: applied in b once a's Deployment is gone.
	backs := e.redeploys.of(move.RequestID)
	if len(backs) != 1 || backs[0].MovedFrom == nil || *backs[0].MovedFrom != from || backs[0].UpgradeOf != "mv1-v1" || backs[0].Job != to {
		t.Fatalf("hand-back %+v, want one image built event for %s moved from %s", backs, to.Key(), from.Key())
	}
	keyB, _, deployed := e.runDeployed(t, &backs[0], e.b)
	cm, err := e.b.CoreV1().ConfigMaps(moveNS).Get(ctx, "flink-config-"+id, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if conf := cm.Data["config.yaml"] + cm.Data["flink-conf.yaml"]; !strings.Contains(conf, sps[0]) {
		t.Errorf("b's Flink configuration does not restore from %s:\n%s", sps[0], conf)
	}
	waitJob(t, e.store, keyB, 15*time.Second, "the job RUNNING in b", func(j *jobstore.Job) bool {
		return j.RequestID == move.RequestID && j.State == messages.StateRunning
	})
	j = waitState(t, e.store, keyA, messages.StateTerminated, 10*time.Second)
	if j.Reason != ReasonMoved || !strings.Contains(j.Message, keyB) {
		t.Errorf("old record TERMINATED (%s: %s), want reason moved naming %s", j.Reason, j.Message, keyB)
	}
	want := []stepSummary{
		{messages.StateRunning, messages.StateUpgrading, "upgrade_requested", messages.OperationRequested, ""},
		{messages.StateUpgrading, messages.StateUpgrading, "savepoint_completed", messages.OperationInProgress, sps[0]},
		{messages.StateUpgrading, messages.StateTerminated, ReasonMoved, messages.OperationCompleted, sps[0]},
	}
	if got := opEventsUntil(e.events, keyA, move.RequestID, atLeast(len(want))); !slices.Equal(summarize(got), want) {
		t.Errorf("status events of the move:%s\nwant %+v", describe(got), want)
	}
	// The history carried to b, the move's savepoint first; the deployed
	// event delivered again adds nothing.
	wantHistory := []jobstore.SavepointEntry{
		{Path: sps[0], Trigger: jobstore.TriggerUpgrade, Result: ops.Completed, RequestID: move.RequestID, Format: messages.FormatCanonical},
		{Path: earlier.Path, Trigger: jobstore.TriggerManual, Result: ops.Completed, RequestID: earlier.RequestID, Format: messages.FormatCanonical},
	}
	for i := range 2 {
		if i == 1 {
			if _, err := (&Handler{Store: e.store, Now: e.clock.Now}).Handle(ctx, deployed); err != nil {
				t.Fatal(err)
			}
		}
		hist, err := e.store.Savepoints(ctx, keyB, 0)
		if err != nil {
			t.Fatal(err)
		}
		for k := range hist {
			hist[k].Time = time.Time{}
		}
		if !slices.Equal(hist, wantHistory) {
			t.Errorf("delivery %d: savepoint history of %s = %+v, want %+v", i+1, keyB, hist, wantHistory)
		}
	}
	// The request delivered again after the move: a no-op in b.
	if _, ok := e.deliver(t, move).Event.(*messages.Deployed); !ok {
		t.Errorf("a late redelivery was not the running deployment's")
	}
	if n := len(e.redeploys.all()); n != 1 {
		t.Errorf("%d hand-backs after a late redelivery, want 1", n)
	}

	// A restart of the moved job deploys it again in b: its stored request
	// names upgrade.from, the restart's does not (it is not a move).
	restart := messages.ControlRequested{RequestID: "mv1-restart", Job: to, Operation: messages.OpRestart}
	e.handle(t, restart)
	waitJob(t, e.store, keyB, 10*time.Second, "the restart's savepoint triggered", func(j *jobstore.Job) bool {
		return j.Op != nil && j.Op.RequestID == restart.RequestID && j.Op.Phase == ops.Triggered
	})
	e.clock.Advance(5 * time.Second)
	waitOpDone(t, e.store, keyB, restart.RequestID, 15*time.Second)
	again := e.redeploys.of(restart.RequestID)
	if len(again) != 1 || again[0].Job != to || (again[0].Request.Upgrade != nil && again[0].Request.Upgrade.From != nil) {
		t.Fatalf("restart's image built %+v, want one for %s without upgrade.from", again, to.Key())
	}
	if _, ok := e.deliver(t, &again[0]).Event.(*messages.Deployed); !ok {
		t.Fatal("the restarted run was not deployed in b")
	}
}

// TestMoveRefusedWhenNothingRunsThere: a move whose upgrade.from names a
// place without a JobManager Deployment (a session job: its session
// cluster's Deployment has another name; a job suspended, ended or never
// run) is refused move_source_not_running by the submit worker, on the
// status and control topics (a deploy failed event with the reason), and
// nothing is deployed in the target.
func TestMoveRefusedWhenNothingRunsThere(t *testing.T) {
	cs := kubetest.Shared(t).Clientset()
	ctx := context.Background()
	const ns = "flink-mv-none"
	kubetest.CreateNamespace(t, cs, ns)
	clusters := &kubeclusters.Set{}
	clusters.Add(kubeclusters.Config{Name: "a", Default: true, AllowedNamespaces: []string{ns}}, cs)
	clusters.Add(kubeclusters.Config{Name: "b", AllowedNamespaces: []string{ns}}, cs)
	h := &submit.Handler{Clusters: clusters, Topics: messages.DefaultTopics("flinkferry.")}
	for _, tt := range []struct {
		name string
		from messages.UpgradeFrom
	}{
		{"a session job", messages.UpgradeFrom{KubeCluster: "a", ClusterID: "orders-session-job"}},
		{"nothing there", messages.UpgradeFrom{KubeCluster: "a", ClusterID: "never-ran"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			to := messages.JobRef{KubeCluster: "b", Namespace: ns, ClusterID: "mv4"}
			move := moveRequest("mv4-"+tt.from.ClusterID, to, "-Dstate.savepoints.dir=s3://shared/savepoints")
			move.Request.Upgrade = &messages.UpgradeOptions{From: &tt.from}
			outs, err := h.Handle(ctx, move)
			if err != nil || len(outs) != 1 {
				t.Fatalf("Handle = %+v, %v; want one output", outs, err)
			}
			df, ok := outs[0].Event.(*messages.DeployFailed)
			if !ok || df.Reason != messages.DeployReasonMoveSourceNotRunning || !strings.Contains(df.Message, tt.from.Of(to).Key()) ||
				!slices.Equal(outs[0].Topics, []string{h.Topics.Status, h.Topics.Control}) {
				t.Fatalf("output %+v on %v, want deploy failed %s naming %s on the status and control topics",
					outs[0].Event, outs[0].Topics, messages.DeployReasonMoveSourceNotRunning, tt.from.Of(to).Key())
			}
			if ds, err := cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{}); err != nil || len(ds.Items) != 0 {
				t.Errorf("Deployments in %s: %v, %v; want none", ns, ds, err)
			}
		})
	}
}

// TestMoveRefusedForALocalSavepointDirectory: a move whose savepoint
// directory is file:// is refused savepoint_not_shared before anything is
// stopped: the job keeps running in a, untouched.
func TestMoveRefusedForALocalSavepointDirectory(t *testing.T) {
	e := newMoveEnv(t)
	ctx := context.Background()
	const id = "mv2"
	from := messages.JobRef{KubeCluster: "a", Namespace: moveNS, ClusterID: id}
	keyA, _ := e.run(t, moveRequest("mv2-v1", from, "-Dstate.savepoints.dir=file:///flink/savepoints"), e.a)
	waitState(t, e.store, keyA, messages.StateRunning, 15*time.Second)

	move := moveRequest("mv2-v2", messages.JobRef{KubeCluster: "b", Namespace: moveNS, ClusterID: id})
	move.Request.Upgrade = &messages.UpgradeOptions{From: &messages.UpgradeFrom{KubeCluster: "a"}}
	up, ok := e.deliver(t, move).Event.(*messages.UpgradeRequested)
	if !ok {
		t.Fatal("not handed over")
	}
	if _, err := e.ctl.HandleAny(ctx, up); err == nil {
		t.Fatal("HandleAny = nil, want the refusal (dead-lettered)")
	}
	refs := e.refusals.of(move.RequestID)
	if len(refs) != 1 || refs[0].Reason != messages.RefusedSavepointNotShared || !strings.Contains(refs[0].Message, "file:///flink/savepoints") {
		t.Fatalf("refusals %+v, want one savepoint_not_shared naming the directory", refs)
	}
	time.Sleep(time.Second)
	j, err := e.store.Get(ctx, keyA)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != messages.StateRunning || j.Op != nil {
		t.Errorf("after the refusal: %s, operation %+v; want RUNNING, none", j.State, j.Op)
	}
	if e.flink.n("stop", flinkrest.TriggerID(move.RequestID)) != 0 {
		t.Error("the refused move stopped the job")
	}
	if d, p, c := left(t, e.a, id); d != 1 || p != 1 || c == 0 {
		t.Errorf("left in a: %d Deployments, %d pods, %d ConfigMaps; want the cluster untouched", d, p, c)
	}
}

// TestMoveWhoseNewRunFailsToDeploy: the move's hand-back is refused in b
// (its namespace is being deleted): the moved job's record, TERMINATED
// (moved), becomes DEPLOY_FAILED with reason deploy_failed and the submit
// worker's reason; a restart of it deploys the old run in a again, from
// the move's savepoint.
func TestMoveWhoseNewRunFailsToDeploy(t *testing.T) {
	e := newMoveEnv(t)
	ctx := context.Background()
	const id = "mv3"
	from := messages.JobRef{KubeCluster: "a", Namespace: moveNS, ClusterID: id}
	keyA, _ := e.run(t, moveRequest("mv3-v1", from), e.a)
	waitState(t, e.store, keyA, messages.StateRunning, 15*time.Second)

	move := moveRequest("mv3-v2", messages.JobRef{KubeCluster: "b", Namespace: moveNS, ClusterID: id}, "-Dstate.savepoints.dir=gs://shared/savepoints")
	move.Request.Upgrade = &messages.UpgradeOptions{From: &messages.UpgradeFrom{KubeCluster: "a"}}
	up, ok := e.deliver(t, move).Event.(*messages.UpgradeRequested)
	if !ok {
		t.Fatal("not handed over")
	}
	if _, err := e.ctl.HandleAny(ctx, up); err != nil {
		t.Fatal(err)
	}
	waitJob(t, e.store, keyA, 10*time.Second, "the savepoint triggered", func(j *jobstore.Job) bool { return j.Op != nil && j.Op.Phase == ops.Triggered })
	e.clock.Advance(5 * time.Second)
	waitState(t, e.store, keyA, messages.StateTerminated, 15*time.Second)
	sps := e.sim.Cluster(kubeclusters.RestServiceName(id)).Savepoints()
	backs := e.redeploys.of(move.RequestID)
	if len(backs) != 1 || len(sps) != 1 {
		t.Fatalf("hand-backs %+v, savepoints %v; want one of each", backs, sps)
	}

	// b refuses it: no controller manager finishes the namespace's deletion.
	if err := e.b.CoreV1().Namespaces().Delete(ctx, moveNS, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	out := e.deliver(t, &backs[0])
	df, ok := out.Event.(*messages.DeployFailed)
	if !ok || df.MovedFrom == nil || *df.MovedFrom != from || !slices.Contains(out.Topics, e.submit.Topics.Control) {
		t.Fatalf("hand-back in b: %+v on %v, want deploy failed naming %s on the control topic", out.Event, out.Topics, from.Key())
	}
	if _, err := e.ctl.HandleAny(ctx, df); err != nil {
		t.Fatal(err)
	}
	j := waitState(t, e.store, keyA, messages.StateDeployFailed, 10*time.Second)
	if j.Reason != ops.ReasonDeployFailed || !strings.HasPrefix(j.Message, df.Reason+": ") {
		t.Errorf("DEPLOY_FAILED (%s: %s), want deploy_failed starting with %s", j.Reason, j.Message, df.Reason)
	}
	// Redis has the state before the outbox publishes its event.
	var last messages.JobStatusChanged
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if evs := opEvents(e.events, keyA, move.RequestID); len(evs) > 0 {
			if last = evs[len(evs)-1]; last.To == messages.StateDeployFailed {
				break
			}
		}
	}
	if last.To != messages.StateDeployFailed || last.Operation.Status != messages.OperationFailed {
		t.Errorf("last step of the move %+v, want → DEPLOY_FAILED, failed", last)
	}

	restart := messages.ControlRequested{RequestID: "mv3-restart", Job: from, Operation: messages.OpRestart}
	e.handle(t, restart)
	j = waitOpDone(t, e.store, keyA, restart.RequestID, 10*time.Second)
	evs := e.redeploys.of(restart.RequestID)
	if j.Op.Result != ops.Completed || len(evs) != 1 || evs[0].Job != from || evs[0].Request.Program.Savepoint == nil || evs[0].Request.Program.Savepoint.Path != sps[0] {
		t.Fatalf("restart %+v, image built %+v: want the old run in a restoring from %s", *j.Op, evs, sps[0])
	}
	if _, ok := e.deliver(t, &evs[0]).Event.(*messages.Deployed); !ok {
		t.Fatal("the old run was not deployed in a again")
	}
}
