package dev

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/ops"
)

// jobEvents returns the job status changes of job key on the dev status
// topic, read from its start for 3 s.
func jobEvents(t *testing.T, env *Env, key string) []*messages.JobStatusChanged {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(env.KafkaBrokers...), kgo.ConsumeTopics(TopicPrefix+"status"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var out []*messages.JobStatusChanged
	for ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			hs := map[string]string{}
			for _, h := range r.Headers {
				hs[h.Key] = string(h.Value)
			}
			ev, _, err := messages.DecodeMessage(hs, messages.TypeJobStatusChanged, r.Value)
			if c, ok := ev.(*messages.JobStatusChanged); err == nil && ok && c.JobKey() == key {
				out = append(out, c)
			}
		})
	}
	return out
}

// describe is one line per event: request id, from -> to, reason, the
// operation's step.
func describe(evs []*messages.JobStatusChanged) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "  %s %s -> %s (%s)", e.RequestID, e.From, e.To, e.Reason)
		if o := e.Operation; o != nil {
			fmt.Fprintf(&b, " [%s %s %s]", o.Operation, o.RequestID, o.Status)
		}
		if e.SavepointPath != "" {
			fmt.Fprintf(&b, " savepoint %s", e.SavepointPath)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// oneEventPerStep fails when two events of the job tell the same step
// (same run, transition, reason and operation status).
func oneEventPerStep(t *testing.T, evs []*messages.JobStatusChanged) {
	t.Helper()
	seen := map[string]bool{}
	for _, e := range evs {
		k := fmt.Sprintf("%s|%s|%s|%s", e.RequestID, e.From, e.To, e.Reason)
		if o := e.Operation; o != nil {
			k += "|" + o.RequestID + "|" + string(o.Status)
		}
		if seen[k] {
			t.Errorf("step told twice: %s\nevents:\n%s", k, describe(evs))
			return
		}
		seen[k] = true
	}
}

// oldRunObjects creates what Flink's JobManager creates for cluster id
// besides its Deployment: a TaskManager pod and an HA ConfigMap, labelled
// as Flink labels them. It returns their UIDs.
func oldRunObjects(t *testing.T, kube *Kube, id string) []types.UID {
	t.Helper()
	ctx := context.Background()
	tm, err := kube.Client.CoreV1().Pods(Namespace).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: id + "-taskmanager-1-1", Labels: map[string]string{
			"app": id, "type": "flink-native-kubernetes", "component": "taskmanager"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "flink-main-container", Image: "flink:1.20"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ha, err := kube.Client.CoreV1().ConfigMaps(Namespace).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: id + "-cluster-config-map", Labels: map[string]string{
			"app": id, "type": "flink-native-kubernetes", "configmap-type": "high-availability"}},
		Data: map[string]string{"checkpointID-0000000000000000001": "old run"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return []types.UID{tm.UID, ha.UID}
}

// checkpointNumber is n of a .../chk-n path, -1 otherwise.
func checkpointNumber(p string) int {
	i := strings.LastIndex(p, "/chk-")
	if i < 0 {
		return -1
	}
	n, err := strconv.Atoi(p[i+5:])
	if err != nil {
		return -1
	}
	return n
}

// TestUpgradeLastState: a RUNNING application job whose simulated
// JobManager completes a checkpoint every 3 s is upgraded in mode
// last-state. No savepoint is taken; the old run is cancelled and its
// cluster removed whole (JobManager Deployment, TaskManager pod, HA
// ConfigMap: nothing of the old run labelled app=<id>,
// type=flink-native-kubernetes is left); the new run restores from the
// latest completed checkpoint the tracker had recorded when the upgrade
// was recorded (execution.savepoint.path of the new flink-config
// ConfigMap), the operation's location; one status event per step.
func TestUpgradeLastState(t *testing.T) {
	env, kube, store := startAllWith(t, Options{}, KubeOptions{CheckpointInterval: 2 * time.Second})
	ctx := context.Background()
	const id = "uls"
	key := submitDemo(t, env, id)
	waitRunning(t, store, key, 45*time.Second)
	old := waitJob(t, store, key, 30*time.Second, "a completed checkpoint recorded", func(j *jobstore.Job) bool {
		return j.Checkpoints.LastCompletedPath != ""
	})
	oldDep, err := kube.Client.AppsV1().Deployments(Namespace).Get(ctx, id, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	oldUIDs := append(oldRunObjects(t, kube, id), oldDep.UID)
	oldPods, err := kube.Client.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app=" + id})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range oldPods.Items {
		oldUIDs = append(oldUIDs, p.UID)
	}
	recorded := old.Checkpoints.LastCompletedPath

	const v2 = "dev-demo-" + id + "-v2"
	req := strings.Replace(string(DemoRequest(id, env.JarURL())), `"dev-demo-`+id+`"`, `"`+v2+`"`, 1)
	req = strings.Replace(req, `"program":`, `"upgrade": {"mode": "last-state"}, "program":`, 1)
	produce(t, env, TopicPrefix+"submit", Namespace+"/"+id, []byte(req))
	j := waitJob(t, store, key, 60*time.Second, "the upgraded run RUNNING", func(j *jobstore.Job) bool {
		return j.RequestID == v2 && j.State == messages.StateRunning
	})

	if j.Op == nil || j.Op.Operation != messages.OpUpgrade || j.Op.Result != ops.Completed || j.Op.RequestID != v2 {
		t.Fatalf("operation %+v, want the completed upgrade %s", j.Op, v2)
	}
	restored := j.Op.Location
	if !strings.HasPrefix(restored, "s3://flink/checkpoints/"+old.FlinkJobID+"/chk-") || checkpointNumber(restored) < checkpointNumber(recorded) {
		t.Fatalf("restore point %q, want a completed checkpoint of the old run (job %s) no older than %s", restored, old.FlinkJobID, recorded)
	}
	cm, err := kube.Client.CoreV1().ConfigMaps(Namespace).Get(ctx, "flink-config-"+id, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	conf := cm.Data["config.yaml"] + cm.Data["flink-conf.yaml"]
	if !strings.Contains(conf, "execution.savepoint.path: "+restored+"\n") {
		t.Fatalf("the new run does not restore from %s:\n%s", restored, conf)
	}
	if sps, err := store.Savepoints(ctx, key, 10); err != nil || len(sps) != 0 {
		t.Fatalf("a last-state upgrade took a savepoint: %+v (%v)", sps, err)
	}
	if n := kube.Sim.Cluster(id + "-rest"); n == nil {
		t.Fatal("the new run's JobManager is not running")
	}

	// Nothing of the old run is left.
	sel := metav1.ListOptions{LabelSelector: "app=" + id + ",type=flink-native-kubernetes"}
	pods, err1 := kube.Client.CoreV1().Pods(Namespace).List(ctx, sel)
	cms, err2 := kube.Client.CoreV1().ConfigMaps(Namespace).List(ctx, sel)
	deps, err3 := kube.Client.AppsV1().Deployments(Namespace).List(ctx, sel)
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatal(err)
	}
	for _, uid := range oldUIDs {
		for _, p := range pods.Items {
			if p.UID == uid {
				t.Errorf("pod %s of the old run is left", p.Name)
			}
		}
		for _, c := range cms.Items {
			if c.UID == uid {
				t.Errorf("ConfigMap %s of the old run is left", c.Name)
			}
		}
		for _, d := range deps.Items {
			if d.UID == uid {
				t.Errorf("Deployment %s of the old run is left", d.Name)
			}
		}
	}
	for _, c := range cms.Items {
		if c.Labels["configmap-type"] == "high-availability" {
			t.Errorf("HA ConfigMap %s left after a last-state upgrade without HA", c.Name)
		}
	}

	// One event per step: the upgrade recorded, completed (restore point
	// named), then the new run's own transitions.
	var evs []*messages.JobStatusChanged
	deadline := time.Now().Add(20 * time.Second)
	for {
		evs = jobEvents(t, env, key)
		n := len(evs)
		if n > 0 && evs[n-1].RequestID == v2 && evs[n-1].To == messages.StateRunning || time.Now().After(deadline) {
			break
		}
	}
	oneEventPerStep(t, evs)
	var requested, completed int
	for _, e := range evs {
		o := e.Operation
		if o == nil || o.RequestID != v2 {
			continue
		}
		switch o.Status {
		case messages.OperationRequested:
			requested++
		case messages.OperationCompleted:
			completed++
			if e.SavepointPath != restored {
				t.Errorf("the upgrade's completed step names %q, want the restore point %s", e.SavepointPath, restored)
			}
		case messages.OperationFailed:
			t.Errorf("a failed step: %s: %s", e.Reason, e.Message)
		}
	}
	if requested != 1 || completed != 1 {
		t.Errorf("upgrade steps: %d requested, %d completed, want 1 and 1\nevents:\n%s", requested, completed, describe(evs))
	}
}
