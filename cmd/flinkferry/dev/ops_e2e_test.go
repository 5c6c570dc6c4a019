package dev

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/submit"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/ops"
)

// sendControl produces a control request as plain JSON with kgo, keyed
// by the job, times times (a redelivery).
func sendControl(t *testing.T, env *Env, req messages.ControlRequested, times int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(env.KafkaBrokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	for range times {
		rec := &kgo.Record{Topic: TopicPrefix + "control", Key: []byte(req.JobKey()), Value: b}
		if err := cl.ProduceSync(context.Background(), rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
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
		time.Sleep(100 * time.Millisecond)
	}
	if last == nil {
		t.Fatalf("job %s never registered", key)
	}
	op := "none"
	if last.Op != nil {
		op = fmt.Sprintf("%+v", *last.Op)
	}
	t.Fatalf("job %s: want %s; state %s (reason %q, message %q), operation %s", key, what, last.State, last.Reason, last.Message, op)
	return nil
}

// TestSuspendResume drives the day-2 operations through the real workers
// (kfake, Redis, the local API server with its controller-manager-free
// cleanup, the simulated JobManagers): a savepoint delivered twice is
// taken once; a suspend delivered twice stops the job once with a
// savepoint, removes every object of the cluster and leaves the job
// SUSPENDED; a resume deploys it again restoring from exactly that
// savepoint (execution.savepoint.path in the new flink-config-<id>).
func TestSuspendResume(t *testing.T) {
	env, kube, store := startAllWith(t, Options{}, KubeOptions{})
	ctx := context.Background()
	const id = "sr1"
	key := submitDemo(t, env, id)
	waitRunning(t, store, key, 45*time.Second)
	job := messages.JobRef{Namespace: Namespace, ClusterID: id}

	// A savepoint, delivered twice: one savepoint in Flink and in the history.
	sendControl(t, env, messages.ControlRequested{RequestID: "sp-1", Job: job, Operation: messages.OpSavepoint}, 2)
	j := waitJob(t, store, key, 30*time.Second, "savepoint sp-1 done", func(j *jobstore.Job) bool {
		return j.Op != nil && j.Op.RequestID == "sp-1" && j.Op.Phase == ops.Done && j.State != messages.StateSavepointing
	})
	if j.Op.Result != ops.Completed || j.State != messages.StateRunning {
		t.Fatalf("savepoint: result %s, state %s (%s), want completed and RUNNING", j.Op.Result, j.State, j.Op.Message)
	}
	sim := kube.Sim.Cluster(id + "-rest")
	if sim == nil {
		t.Fatal("no simulated JobManager")
	}
	if got := sim.Savepoints(); len(got) != 1 || got[0] != j.Op.Location {
		t.Fatalf("Flink has savepoints %v, want exactly the operation's %s", got, j.Op.Location)
	}

	// A suspend, delivered twice.
	sendControl(t, env, messages.ControlRequested{RequestID: "suspend-1", Job: job, Operation: messages.OpSuspend}, 2)
	j = waitJob(t, store, key, 45*time.Second, "SUSPENDED", func(j *jobstore.Job) bool { return j.State == messages.StateSuspended })
	suspendedAt := j.Op.Location
	if suspendedAt == "" || j.Reason != "suspended" {
		t.Fatalf("suspended job: reason %q, savepoint %q", j.Reason, suspendedAt)
	}
	sps, err := store.Savepoints(ctx, key, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(sps) != 2 || sps[0].Path != suspendedAt || sps[0].Trigger != jobstore.TriggerSuspend || sps[1].Trigger != jobstore.TriggerManual {
		t.Fatalf("savepoint history %+v, want the suspend's then the manual one", sps)
	}
	sel := metav1.ListOptions{LabelSelector: "app=" + id}
	for _, n := range []func() (int, error){
		func() (int, error) {
			l, err := kube.Client.AppsV1().Deployments(Namespace).List(ctx, sel)
			return len(l.Items), err
		},
		func() (int, error) {
			l, err := kube.Client.CoreV1().ConfigMaps(Namespace).List(ctx, sel)
			return len(l.Items), err
		},
		func() (int, error) {
			l, err := kube.Client.CoreV1().Services(Namespace).List(ctx, sel)
			return len(l.Items), err
		},
		func() (int, error) {
			l, err := kube.Client.CoreV1().Pods(Namespace).List(ctx, sel)
			return len(l.Items), err
		},
	} {
		if left, err := n(); err != nil || left != 0 {
			t.Fatalf("objects labelled app=%s left after the suspend: %d (%v)", id, left, err)
		}
	}

	// The submit worker's run mark stays: the suspended request delivered
	// again does not start the run again.
	if marks, err := kube.Client.CoreV1().ConfigMaps(Namespace).List(ctx, metav1.ListOptions{LabelSelector: submit.LabelRunsOf + "=" + id}); err != nil || len(marks.Items) != 1 {
		t.Fatalf("run marks of %s after the suspend: %v (%v), want 1", id, marks, err)
	}

	// A resume restores from that savepoint.
	sendControl(t, env, messages.ControlRequested{RequestID: "resume-1", Job: job, Operation: messages.OpResume}, 2)
	j = waitJob(t, store, key, 45*time.Second, "the resumed run RUNNING", func(j *jobstore.Job) bool {
		return j.RequestID == "resume-1" && j.State == messages.StateRunning
	})
	cm, err := kube.Client.CoreV1().ConfigMaps(Namespace).Get(ctx, "flink-config-"+id, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	conf := cm.Data["config.yaml"] + cm.Data["flink-conf.yaml"]
	if !strings.Contains(conf, "execution.savepoint.path: "+suspendedAt) {
		t.Fatalf("flink-config-%s does not restore from %s:\n%s", id, suspendedAt, conf)
	}

	// Delete: the cluster and its HA ConfigMaps (as Flink labels them; no
	// real JobManager writes them here) go, nothing labelled app=<id> stays.
	ha := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: id + "-cluster-config-map", Namespace: Namespace, Labels: map[string]string{
		"app": id, "configmap-type": "high-availability", "type": "flink-native-kubernetes"}}}
	if _, err := kube.Client.CoreV1().ConfigMaps(Namespace).Create(ctx, ha, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sendControl(t, env, messages.ControlRequested{RequestID: "delete-1", Job: job, Operation: messages.OpDelete}, 2)
	waitJob(t, store, key, 45*time.Second, "TERMINATED (deleted)", func(j *jobstore.Job) bool {
		return j.State == messages.StateTerminated && j.Reason == "deleted"
	})
	assertNoObjects(t, kube, id)
}

// assertNoObjects fails unless nothing labelled app=<id> is left, nor
// the submit worker's run mark of id.
func assertNoObjects(t *testing.T, kube *Kube, id string) {
	t.Helper()
	ctx := context.Background()
	sel := metav1.ListOptions{LabelSelector: "app=" + id}
	cms, err1 := kube.Client.CoreV1().ConfigMaps(Namespace).List(ctx, sel)
	deps, err2 := kube.Client.AppsV1().Deployments(Namespace).List(ctx, sel)
	pods, err3 := kube.Client.CoreV1().Pods(Namespace).List(ctx, sel)
	svcs, err4 := kube.Client.CoreV1().Services(Namespace).List(ctx, sel)
	marks, err5 := kube.Client.CoreV1().ConfigMaps(Namespace).List(ctx, metav1.ListOptions{LabelSelector: submit.LabelRunsOf + "=" + id})
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
		t.Fatal(err)
	}
	if n := len(cms.Items) + len(deps.Items) + len(pods.Items) + len(svcs.Items) + len(marks.Items); n != 0 {
		t.Fatalf("%d objects labelled app=%s or %s=%s left", n, id, submit.LabelRunsOf, id)
	}
}

// produce sends a plain JSON submit request for job with kgo.
func produce(t *testing.T, env *Env, topic string, key string, value []byte) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(env.KafkaBrokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: topic, Key: []byte(key), Value: value}).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// TestSessionSuspendResume suspends a session job (the session cluster
// keeps running, nothing is deleted) and resumes it: the new job is
// submitted to the session cluster with the suspend's savepoint as its
// savepointPath. Then delete removes the session cluster and every object
// labelled with its id.
func TestSessionSuspendResume(t *testing.T) {
	env, kube, store := startAllWith(t, Options{}, KubeOptions{})
	ctx := context.Background()
	const session, id = "ss1", "sj1"
	produce(t, env, TopicPrefix+"submit", Namespace+"/"+session, fmt.Appendf(nil, `{
  "request_id": "dev-session-1", "job": {"namespace": %q, "cluster_id": %q}, "mode": "session-cluster",
  "flink": {"version": "1.20", "jobmanager": {"memory": "1024m", "cpu": 0.5}, "taskmanager": {"memory": "1024m", "cpu": 0.5, "slots": 2}}
}`, Namespace, session))
	sessionKey := messages.JobRef{Namespace: Namespace, ClusterID: session}.Key()
	waitRunning(t, store, sessionKey, 45*time.Second)
	produce(t, env, TopicPrefix+"submit", Namespace+"/"+id, fmt.Appendf(nil, `{
  "request_id": "dev-sj-1", "job": {"namespace": %q, "cluster_id": %q}, "mode": "session", "session_cluster_id": %q,
  "flink": {"version": "1.20", "parallelism": 1},
  "program": {"jar": {"url": %q}, "main_class": "org.apache.flink.examples.WordCount"}
}`, Namespace, id, session, env.JarURL()))
	key := messages.JobRef{Namespace: Namespace, ClusterID: id}.Key()
	waitRunning(t, store, key, 45*time.Second)
	job := messages.JobRef{Namespace: Namespace, ClusterID: id}

	sendControl(t, env, messages.ControlRequested{RequestID: "sj-suspend", Job: job, Operation: messages.OpSuspend}, 2)
	j := waitJob(t, store, key, 45*time.Second, "SUSPENDED", func(j *jobstore.Job) bool { return j.State == messages.StateSuspended })
	savepoint := j.Op.Location
	sim := kube.Sim.Cluster(session + "-rest")
	if sim == nil || savepoint == "" {
		t.Fatalf("session cluster simulated: %v, savepoint %q", sim != nil, savepoint)
	}
	if got := sim.Savepoints(); len(got) != 1 || got[0] != savepoint {
		t.Fatalf("the session cluster has savepoints %v, want exactly %s", got, savepoint)
	}
	if _, err := kube.Client.AppsV1().Deployments(Namespace).Get(ctx, session, metav1.GetOptions{}); err != nil {
		t.Fatalf("suspending a session job touched its session cluster: %v", err)
	}

	if run, err := store.Run(ctx, key); err != nil || run.Request == nil || run.JarArtifact == "" || len(run.Redacted) > 0 {
		t.Fatalf("the suspended session job's run is not stored for resume: %+v, %v", run, err)
	}
	sendControl(t, env, messages.ControlRequested{RequestID: "sj-resume", Job: job, Operation: messages.OpResume}, 1)
	j = waitJob(t, store, key, 45*time.Second, "the resumed session job RUNNING", func(j *jobstore.Job) bool {
		return j.RequestID == "sj-resume" && j.State == messages.StateRunning
	})
	fj := sim.Job(j.FlinkJobID)
	if fj == nil {
		t.Fatalf("the session cluster does not run the resumed job %s", j.FlinkJobID)
	}
	if sub, ok := fj.Submission(); !ok || sub.SavepointPath != savepoint {
		t.Fatalf("the resumed job was submitted with savepointPath %q, want %s", sub.SavepointPath, savepoint)
	}

	// Delete the session cluster: everything labelled with its id goes.
	sendControl(t, env, messages.ControlRequested{RequestID: "ss-delete", Job: messages.JobRef{Namespace: Namespace, ClusterID: session},
		Operation: messages.OpDelete, Force: true}, 2)
	waitJob(t, store, sessionKey, 45*time.Second, "TERMINATED (deleted)", func(j *jobstore.Job) bool {
		return j.State == messages.StateTerminated && j.Reason == "deleted"
	})
	assertNoObjects(t, kube, session)
}

// TestResumeFailedJob resumes an application job that FAILED (its cluster
// kept, as after any failure): the old cluster is removed first, then the
// new run starts in a cluster of its own.
func TestResumeFailedJob(t *testing.T) {
	env, kube, store := startAllWith(t, Options{}, KubeOptions{})
	ctx := context.Background()
	const id = "rf1"
	key := submitDemo(t, env, id)
	j := waitJob(t, store, key, 45*time.Second, "RUNNING", func(j *jobstore.Job) bool { return j.State == messages.StateRunning })
	sim := kube.Sim.Cluster(id + "-rest")
	if sim == nil || sim.Job(j.FlinkJobID) == nil {
		t.Fatal("no simulated job")
	}
	sim.Job(j.FlinkJobID).Fail("java.lang.IllegalStateException: boom")
	waitJob(t, store, key, 30*time.Second, "FAILED", func(j *jobstore.Job) bool { return j.State == messages.StateFailed })
	old, err := kube.Client.AppsV1().Deployments(Namespace).Get(ctx, id, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the failed job's cluster is not kept: %v", err)
	}

	job := messages.JobRef{Namespace: Namespace, ClusterID: id}
	sendControl(t, env, messages.ControlRequested{RequestID: "rf-resume", Job: job, Operation: messages.OpResume,
		Restore: &messages.RestoreOptions{From: messages.RestoreFromNone}}, 1)
	waitJob(t, store, key, 45*time.Second, "the resumed run RUNNING", func(j *jobstore.Job) bool {
		return j.RequestID == "rf-resume" && j.State == messages.StateRunning
	})
	d, err := kube.Client.AppsV1().Deployments(Namespace).Get(ctx, id, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.UID == old.UID {
		t.Fatalf("the resumed run reuses the failed run's Deployment %s", old.UID)
	}
}

// TestUpgrade sends a second request (new request id, other parallelism)
// for a RUNNING application job: the submit worker hands it to the track
// worker, which stops the job with a savepoint (history trigger upgrade),
// removes its cluster and hands the new request back; the new run starts
// in a cluster of its own restoring from exactly that savepoint. Then a
// stateless upgrade starts the next run without state.
func TestUpgrade(t *testing.T) {
	env, kube, store := startAllWith(t, Options{}, KubeOptions{})
	ctx := context.Background()
	const id = "up1"
	key := submitDemo(t, env, id)
	waitRunning(t, store, key, 45*time.Second)
	old, err := kube.Client.AppsV1().Deployments(Namespace).Get(ctx, id, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v2 := strings.Replace(string(DemoRequest(id, env.JarURL())), `"dev-demo-`+id+`"`, `"dev-demo-`+id+`-v2"`, 1)
	v2 = strings.Replace(v2, `"parallelism": 1`, `"parallelism": 2`, 1)
	produce(t, env, TopicPrefix+"submit", Namespace+"/"+id, []byte(v2))
	j := waitJob(t, store, key, 60*time.Second, "the upgraded run RUNNING", func(j *jobstore.Job) bool {
		return j.RequestID == "dev-demo-"+id+"-v2" && j.State == messages.StateRunning
	})
	sps, err := store.Savepoints(ctx, key, 10)
	if err != nil || len(sps) != 1 || sps[0].Trigger != jobstore.TriggerUpgrade || sps[0].Path == "" {
		t.Fatalf("savepoint history %+v (%v), want the upgrade's savepoint", sps, err)
	}
	cm, err := kube.Client.CoreV1().ConfigMaps(Namespace).Get(ctx, "flink-config-"+id, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	conf := cm.Data["config.yaml"] + cm.Data["flink-conf.yaml"]
	if !strings.Contains(conf, "execution.savepoint.path: "+sps[0].Path) || !strings.Contains(conf, `parallelism.default: "2"`) {
		t.Fatalf("the upgraded run does not restore from %s with parallelism 2:\n%s", sps[0].Path, conf)
	}
	d, err := kube.Client.AppsV1().Deployments(Namespace).Get(ctx, id, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.UID == old.UID {
		t.Fatal("the upgraded run reuses the old run's Deployment")
	}
	if j.Op == nil || j.Op.Operation != messages.OpUpgrade || j.Op.Result != ops.Completed {
		t.Fatalf("operation %+v, want a completed upgrade", j.Op)
	}

	// Stateless: the next run starts without state.
	v3 := strings.Replace(string(DemoRequest(id, env.JarURL())), `"dev-demo-`+id+`"`, `"dev-demo-`+id+`-v3"`, 1)
	v3 = strings.Replace(v3, `"program":`, `"upgrade": {"mode": "stateless"}, "program":`, 1)
	produce(t, env, TopicPrefix+"submit", Namespace+"/"+id, []byte(v3))
	waitJob(t, store, key, 60*time.Second, "the stateless run RUNNING", func(j *jobstore.Job) bool {
		return j.RequestID == "dev-demo-"+id+"-v3" && j.State == messages.StateRunning
	})
	cm, err = kube.Client.CoreV1().ConfigMaps(Namespace).Get(ctx, "flink-config-"+id, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if conf := cm.Data["config.yaml"] + cm.Data["flink-conf.yaml"]; strings.Contains(conf, "execution.savepoint.path") {
		t.Fatalf("the stateless run restores from a savepoint:\n%s", conf)
	}
	if sps, _ := store.Savepoints(ctx, key, 10); len(sps) != 1 {
		t.Fatalf("a stateless upgrade took a savepoint: %+v", sps)
	}
}

// TestUpgradeSavepointFails: the savepoint of a savepoint upgrade fails in
// Flink; the old job stays RUNNING in its cluster, untouched, the failure
// reported with Flink's cause, and nothing of the new request is deployed.
func TestUpgradeSavepointFails(t *testing.T) {
	env, kube, store := startAllWith(t, Options{}, KubeOptions{})
	ctx := context.Background()
	const id = "upf"
	key := submitDemo(t, env, id)
	j := waitJob(t, store, key, 45*time.Second, "RUNNING", func(j *jobstore.Job) bool { return j.State == messages.StateRunning })
	old, err := kube.Client.AppsV1().Deployments(Namespace).Get(ctx, id, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const cause = "java.io.IOException: the savepoint storage is full"
	kube.Sim.Cluster(id+"-rest").Job(j.FlinkJobID).SetSavepointOutcome(true, cause)
	v2 := strings.Replace(string(DemoRequest(id, env.JarURL())), `"dev-demo-`+id+`"`, `"dev-demo-`+id+`-v2"`, 1)
	produce(t, env, TopicPrefix+"submit", Namespace+"/"+id, []byte(v2))
	j = waitJob(t, store, key, 45*time.Second, "the upgrade failed", func(j *jobstore.Job) bool {
		return j.Op != nil && j.Op.Operation == messages.OpUpgrade && j.Op.Phase == ops.Done && j.State == messages.StateRunning
	})
	if j.Op.Result != ops.Failed || !strings.Contains(j.Op.Message, cause) || j.RequestID != "dev-demo-"+id {
		t.Fatalf("operation %+v on run %s, want the upgrade failed with Flink's cause, the old run kept", *j.Op, j.RequestID)
	}
	d, err := kube.Client.AppsV1().Deployments(Namespace).Get(ctx, id, metav1.GetOptions{})
	if err != nil || d.UID != old.UID || d.Annotations["flinkferry.io/request-id"] != "dev-demo-"+id || d.Generation != old.Generation {
		t.Fatalf("the old cluster was touched: %v", err)
	}
	if fj := kube.Sim.Cluster(id + "-rest").Job(j.FlinkJobID); fj == nil || fj.State() != "RUNNING" {
		t.Fatal("the old job does not run any more")
	}
}
