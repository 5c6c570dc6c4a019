package dev

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/ops"
)

// TestRestart drives restarts through the real workers (kfake, Redis, the
// local API server, the simulated JobManagers). A restart of a RUNNING
// application job, delivered twice, stops it with exactly one savepoint
// (history trigger restart), removes its cluster and deploys the same
// request again in a cluster of its own, restoring from that savepoint.
// Then the job fails, and a restart from a path with
// allow_non_restored_state and CLAIM deploys it again with Flink's
// options set in the new flink-config.
func TestRestart(t *testing.T) {
	env, kube, store := startAllWith(t, Options{}, KubeOptions{})
	ctx := context.Background()
	const id = "rst1"
	key := submitDemo(t, env, id)
	waitRunning(t, store, key, 45*time.Second)
	old, err := kube.Client.AppsV1().Deployments(Namespace).Get(ctx, id, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	job := messages.JobRef{Namespace: Namespace, ClusterID: id}

	sendControl(t, env, messages.ControlRequested{RequestID: "rst-1", Job: job, Operation: messages.OpRestart}, 2)
	j := waitJob(t, store, key, 60*time.Second, "the restarted run RUNNING", func(j *jobstore.Job) bool {
		return j.RequestID == "rst-1" && j.State == messages.StateRunning
	})
	sps, err := store.Savepoints(ctx, key, 10)
	if err != nil || len(sps) != 1 || sps[0].Trigger != jobstore.TriggerRestart || sps[0].Path == "" {
		t.Fatalf("savepoint history %+v (%v), want the restart's savepoint", sps, err)
	}
	if j.Op == nil || j.Op.Operation != messages.OpRestart || j.Op.Result != ops.Completed || j.Op.Location != sps[0].Path {
		t.Fatalf("operation %+v, want the completed restart from %s", j.Op, sps[0].Path)
	}
	conf := flinkConfig(t, kube, id)
	if !strings.Contains(conf, "execution.savepoint.path: "+sps[0].Path) {
		t.Fatalf("the restarted run does not restore from %s:\n%s", sps[0].Path, conf)
	}
	d, err := kube.Client.AppsV1().Deployments(Namespace).Get(ctx, id, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.UID == old.UID || d.Annotations["flinkferry.io/request-id"] != "rst-1" {
		t.Fatalf("the restarted run's Deployment: uid %s (old %s), request %s", d.UID, old.UID, d.Annotations["flinkferry.io/request-id"])
	}

	// The job fails; a restart from a path, state not restored allowed, claimed.
	kube.Sim.Cluster(id + "-rest").Job(j.FlinkJobID).Fail("java.lang.IllegalStateException: boom")
	waitJob(t, store, key, 30*time.Second, "FAILED", func(j *jobstore.Job) bool { return j.State == messages.StateFailed })
	path := sps[0].Path
	sendControl(t, env, messages.ControlRequested{RequestID: "rst-2", Job: job, Operation: messages.OpRestart,
		Restore: &messages.RestoreOptions{From: messages.RestoreFromPath, Path: path, AllowNonRestoredState: true, RestoreMode: messages.RestoreClaim}}, 1)
	waitJob(t, store, key, 60*time.Second, "the second restarted run RUNNING", func(j *jobstore.Job) bool {
		return j.RequestID == "rst-2" && j.State == messages.StateRunning
	})
	conf = flinkConfig(t, kube, id)
	for _, want := range []string{"execution.savepoint.path: " + path, "execution.savepoint.ignore-unclaimed-state: \"true\"", "execution.savepoint-restore-mode: CLAIM"} {
		if !strings.Contains(conf, want) {
			t.Errorf("the restarted run's flink-config lacks %q:\n%s", want, conf)
		}
	}
	if sps, _ := store.Savepoints(ctx, key, 10); len(sps) != 1 {
		t.Errorf("a restart of a failed job took a savepoint: %+v", sps)
	}
}

// flinkConfig returns the Flink configuration of cluster id's current run.
func flinkConfig(t *testing.T, kube *Kube, id string) string {
	t.Helper()
	cm, err := kube.Client.CoreV1().ConfigMaps(Namespace).Get(context.Background(), "flink-config-"+id, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cm.Data["config.yaml"] + cm.Data["flink-conf.yaml"]
}

// TestRestartSessionJob restarts a RUNNING session job: it is stopped
// with a savepoint on its session cluster (which keeps running) and
// submitted again, under a new Flink job id, with that savepoint and
// allowNonRestoredState in its run request.
func TestRestartSessionJob(t *testing.T) {
	env, kube, store := startAllWith(t, Options{}, KubeOptions{})
	ctx := context.Background()
	const session, id = "rss", "rsj"
	produce(t, env, TopicPrefix+"submit", Namespace+"/"+session, fmt.Appendf(nil, `{
  "request_id": "dev-rss-1", "job": {"namespace": %q, "cluster_id": %q}, "mode": "session-cluster",
  "flink": {"version": "1.20", "jobmanager": {"memory": "1024m", "cpu": 0.5}, "taskmanager": {"memory": "1024m", "cpu": 0.5, "slots": 2}}
}`, Namespace, session))
	waitRunning(t, store, messages.JobRef{Namespace: Namespace, ClusterID: session}.Key(), 45*time.Second)
	produce(t, env, TopicPrefix+"submit", Namespace+"/"+id, fmt.Appendf(nil, `{
  "request_id": "dev-rsj-1", "job": {"namespace": %q, "cluster_id": %q}, "mode": "session", "session_cluster_id": %q,
  "flink": {"version": "1.20", "parallelism": 1},
  "program": {"jar": {"url": %q}, "main_class": "org.apache.flink.examples.WordCount"}
}`, Namespace, id, session, env.JarURL()))
	key := messages.JobRef{Namespace: Namespace, ClusterID: id}.Key()
	waitRunning(t, store, key, 45*time.Second)
	before, err := store.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}

	sendControl(t, env, messages.ControlRequested{RequestID: "rsj-restart", Job: messages.JobRef{Namespace: Namespace, ClusterID: id},
		Operation: messages.OpRestart, Restore: &messages.RestoreOptions{AllowNonRestoredState: true}}, 2)
	j := waitJob(t, store, key, 60*time.Second, "the restarted session job RUNNING", func(j *jobstore.Job) bool {
		return j.RequestID == "rsj-restart" && j.State == messages.StateRunning
	})
	sim := kube.Sim.Cluster(session + "-rest")
	sps := sim.Savepoints()
	if len(sps) != 1 || j.Op == nil || j.Op.Location != sps[0] {
		t.Fatalf("the session cluster has savepoints %v; operation %+v; want one, restored from", sps, j.Op)
	}
	if j.FlinkJobID == before.FlinkJobID {
		t.Fatalf("the restarted session job kept Flink job id %s", j.FlinkJobID)
	}
	fj := sim.Job(j.FlinkJobID)
	if fj == nil {
		t.Fatalf("the session cluster does not run the restarted job %s", j.FlinkJobID)
	}
	sub, ok := fj.Submission()
	if !ok || sub.SavepointPath != sps[0] || sub.AllowNonRestoredState == nil || !*sub.AllowNonRestoredState {
		t.Fatalf("the restarted job was submitted with %+v, want savepointPath %s and allowNonRestoredState", sub, sps[0])
	}
	if st := sim.Job(before.FlinkJobID).State(); st != "FINISHED" {
		t.Errorf("the old session job is %s, want FINISHED (stopped with a savepoint)", st)
	}
	if _, err := kube.Client.AppsV1().Deployments(Namespace).Get(ctx, session, metav1.GetOptions{}); err != nil {
		t.Fatalf("restarting a session job touched its session cluster: %v", err)
	}
}

// TestRestartPolicy: a job submitted with restart_policy (max_restarts 1
// within 60 s) that Flink restarts twice is restarted by the track worker
// from its latest checkpoint: the policy travels with the request through
// build, submit and deploy to the tracker; the first step of the restart
// says why (auto_restart_restarts); the new run, under the restart's
// request id, runs in a new cluster restoring from the checkpoint.
func TestRestartPolicy(t *testing.T) {
	env, kube, store := startAllWith(t, Options{}, KubeOptions{})
	ctx := context.Background()
	const id = "rpol"
	req := strings.Replace(string(DemoRequest(id, env.JarURL())), `"program":`,
		`"restart_policy": {"max_restarts": 1, "window_seconds": 60}, "program":`, 1)
	produce(t, env, TopicPrefix+"submit", Namespace+"/"+id, []byte(req))
	key := messages.JobRef{Namespace: Namespace, ClusterID: id}.Key()
	old := waitJob(t, store, key, 45*time.Second, "RUNNING with a checkpoint and its restart policy", func(j *jobstore.Job) bool {
		return j.State == messages.StateRunning && j.Checkpoints.LastCompletedPath != "" && j.RestartPolicy != nil
	})
	oldDep, err := kube.Client.AppsV1().Deployments(Namespace).Get(ctx, id, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fj := kube.Sim.Cluster(id + "-rest").Job(old.FlinkJobID)
	for range 2 {
		fj.SetState("RESTARTING")
		time.Sleep(200 * time.Millisecond)
		fj.SetState("RUNNING")
		time.Sleep(200 * time.Millisecond)
	}
	j := waitJob(t, store, key, 60*time.Second, "the automatically restarted run RUNNING", func(j *jobstore.Job) bool {
		return strings.HasPrefix(j.RequestID, "auto-restarts-") && j.State == messages.StateRunning
	})
	if j.Op == nil || j.Op.RequestID != j.RequestID || j.Op.Result != ops.Completed || !strings.Contains(j.Op.Location, "/chk-") {
		t.Fatalf("operation %+v, want the completed automatic restart from a checkpoint", j.Op)
	}
	if conf := flinkConfig(t, kube, id); !strings.Contains(conf, "execution.savepoint.path: "+j.Op.Location) {
		t.Fatalf("the restarted run does not restore from %s:\n%s", j.Op.Location, conf)
	}
	d, err := kube.Client.AppsV1().Deployments(Namespace).Get(ctx, id, metav1.GetOptions{})
	if err != nil || d.UID == oldDep.UID {
		t.Fatalf("the restarted run's Deployment: %v (old uid %s)", err, oldDep.UID)
	}
	var first *messages.JobStatusChanged
	for _, e := range jobEvents(t, env, key) {
		if e.Operation != nil && e.Operation.RequestID == j.RequestID {
			first = e
			break
		}
	}
	if first == nil || first.Reason != "auto_restart_restarts" || first.To != messages.StateRedeploying || first.Operation.Status != messages.OperationRequested {
		t.Fatalf("first step of the automatic restart: %+v, want -> REDEPLOYING auto_restart_restarts requested", first)
	}
	if j.RestartPolicy == nil || j.RestartPolicy.MaxRestarts != 1 {
		t.Errorf("the new run's restart policy %+v, want the request's", j.RestartPolicy)
	}
}
