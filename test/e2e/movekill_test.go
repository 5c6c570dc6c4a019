package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flinkferry/flinkferry/cmd/flinkferry/dev"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/ops"
)

// moveKillSteps are the steps of a move after which the workers are
// killed: an upgrade's (recorded, savepoint triggered and completed, old
// cluster removed) and the move's own (hand-back, old record ended moved,
// target Deployment created). old is the moved job's record, oldGone
// whether its Deployment in a is gone, newDeployed whether the target's
// Deployment runs the move's request.
var moveKillSteps = append(slices.Clone(killSteps[:5]), // the upgrade's, up to the hand-back (image built with moved_from) published
	[]killStep{
		// The old record ended TERMINATED (moved).
		{"old-record-moved", func(old *jobstore.Job, _, _ bool) bool {
			return old.State == messages.StateTerminated && old.Reason == "moved"
		}},
		// The target's Deployment created (before the track worker registers
		// the new run and carries the history).
		{"target-deployed", func(_ *jobstore.Job, _, newDeployed bool) bool { return newDeployed }},
	}...)

// demoIn is the dev demo request of cluster id id with request id
// requestID in Kubernetes cluster kube (named: the default cluster's jobs
// named by name have keys of their own); with from, a move of the job
// from that Kubernetes cluster, its savepoint in shared storage.
func demoIn(t *testing.T, id, requestID, kube, from, jarURL string) []byte {
	t.Helper()
	var r map[string]any
	if err := json.Unmarshal(dev.DemoRequest(id, jarURL), &r); err != nil {
		t.Fatal(err)
	}
	r["request_id"] = requestID
	r["job"].(map[string]any)["kube_cluster"] = kube
	if from != "" {
		r["flink"].(map[string]any)["dynamic_options"] = []string{"-Dstate.savepoints.dir=s3://shared/savepoints"}
		r["upgrade"] = map[string]any{"from": map[string]any{"kube_cluster": from}}
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMoveKilledAtEachStep is the SIGKILL test of a move (issue 15) with
// the real binaries, on two control planes: the build, submit and track
// workers run as `flinkferry worker` processes with a clusters file naming
// Kubernetes clusters a (the default) and b, each a real kube-apiserver
// with the kubelet simulation and its own Flink simulator. For each step
// (moveKillSteps: the upgrade's and the move's own) a job of its own runs
// in a, a request for b with
// upgrade.from naming a moves it, and the track and submit workers are
// SIGKILLed as soon as the move reached the step, then started again.
// Each time: one savepoint trigger id sent to Flink in a and one
// savepoint taken; nothing of the job left in a; one Deployment created in
// b, applied once, restoring from that savepoint; the job RUNNING in b
// with the move's savepoint first in its carried history; the old record
// TERMINATED (moved) naming b; one status event per step of either record.
func TestMoveKilledAtEachStep(t *testing.T) {
	s := startStack(t, true)
	ctx := context.Background()
	for i, step := range moveKillSteps {
		ok := t.Run(step.name, func(t *testing.T) {
			id := fmt.Sprintf("mk%d", i)
			from := messages.JobRef{KubeCluster: "a", Namespace: dev.Namespace, ClusterID: id}
			to := messages.JobRef{KubeCluster: "b", Namespace: dev.Namespace, ClusterID: id}
			inB := watchDeploymentsIn(t, s.kubeB.Client, id)
			s.produce(t, from.Key(), demoIn(t, id, "dev-demo-"+id, "a", "", s.env.JarURL()))
			old := s.waitJob(t, from.Key(), 90*time.Second, "RUNNING in a", func(j *jobstore.Job) bool { return j.State == messages.StateRunning })
			oldCluster := s.kube.Sim.Cluster(id + "-rest")
			if oldCluster == nil || oldCluster.Job(old.FlinkJobID) == nil {
				t.Fatalf("no simulated JobManager in a runs job %s", old.FlinkJobID)
			}
			oldCluster.Job(old.FlinkJobID).SetSavepointDuration(3 * time.Second)

			v2 := "dev-demo-" + id + "-moved"
			s.produce(t, to.Key(), demoIn(t, id, v2, "b", "a", s.env.JarURL()))
			deadline := time.Now().Add(90 * time.Second)
			for {
				if time.Now().After(deadline) {
					t.Fatalf("the move did not reach step %s within 90s", step.name)
				}
				j, err := s.store.Get(ctx, from.Key())
				_, aerr := s.kube.Client.AppsV1().Deployments(dev.Namespace).Get(ctx, id, metav1.GetOptions{})
				d, derr := s.kubeB.Client.AppsV1().Deployments(dev.Namespace).Get(ctx, id, metav1.GetOptions{})
				if err == nil && step.reached(j, apierrors.IsNotFound(aerr), derr == nil && d.Annotations["flinkferry.io/request-id"] == v2) {
					t.Logf("killing at %s: old record %s, operation %s", step.name, j.State, opSummary(j.Op))
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			s.killAndRestart(t)

			j := s.waitJob(t, to.Key(), 120*time.Second, "the moved job RUNNING in b", func(j *jobstore.Job) bool {
				return j.RequestID == v2 && j.State == messages.StateRunning
			})
			o := s.waitJob(t, from.Key(), 10*time.Second, "the old record TERMINATED", func(j *jobstore.Job) bool { return j.State == messages.StateTerminated })
			if o.Reason != "moved" || !strings.Contains(o.Message, to.Key()) || o.Op == nil || o.Op.RequestID != v2 || o.Op.Result != ops.Completed {
				t.Errorf("old record TERMINATED (%s: %s), operation %s; want moved to %s, the move completed", o.Reason, o.Message, opSummary(o.Op), to.Key())
			}

			// One savepoint in a: one trigger id sent, one taken.
			triggers, taken := s.rec.triggersOf(old.FlinkJobID), oldCluster.Savepoints()
			distinct := map[string]bool{}
			for _, tr := range triggers {
				distinct[tr] = true
			}
			if len(distinct) != 1 || len(taken) != 1 || !strings.HasPrefix(taken[0], "s3://shared/savepoints/") {
				t.Fatalf("savepoint triggers %q, savepoints taken %v: want one trigger id and one savepoint under s3://shared/savepoints/", triggers, taken)
			}
			if _, err := s.kube.Client.AppsV1().Deployments(dev.Namespace).Get(ctx, id, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("the Deployment %s in a: %v, want it removed", id, err)
			}

			// One Deployment in b, applied once, restoring from it.
			d, err := s.kubeB.Client.AppsV1().Deployments(dev.Namespace).Get(ctx, id, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if uids := inB(); len(uids) != 1 || uids[0] != d.UID || d.Generation != 1 {
				t.Errorf("Deployments %s created in b: %v, generation %d; want one, applied once", id, uids, d.Generation)
			}
			cm, err := s.kubeB.Client.CoreV1().ConfigMaps(dev.Namespace).Get(ctx, "flink-config-"+id, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if conf := cm.Data["config.yaml"] + cm.Data["flink-conf.yaml"]; !strings.Contains(conf, "execution.savepoint.path: "+taken[0]+"\n") {
				t.Errorf("the run in b does not restore from %s:\n%s", taken[0], conf)
			}

			// The history carried to b, the move's savepoint first: by the
			// deployed event's handler, which may come after the job is
			// RUNNING (the restarted track worker recovers the run from
			// Kubernetes first when killed before it registered it).
			var sps []jobstore.SavepointEntry
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				if sps, err = s.store.Savepoints(ctx, to.Key(), 0); err != nil {
					t.Fatal(err)
				}
				if len(sps) > 0 {
					break
				}
			}
			if len(sps) != 1 || sps[0].Path != taken[0] || sps[0].Trigger != jobstore.TriggerUpgrade || sps[0].RequestID != v2 {
				t.Errorf("savepoint history of %s: %+v, want the move's savepoint %s (trigger upgrade)", to.Key(), sps, taken[0])
			}
			if j.Op != nil {
				t.Errorf("the moved job has operation %s, want none", opSummary(j.Op))
			}

			// One event per step, of either record.
			for _, key := range []string{from.Key(), to.Key()} {
				var evs []statusEvent
				for range 10 {
					evs = s.jobStatusEvents(t, key)
					if n := len(evs); n > 0 && (key == from.Key() && evs[n-1].ev.To == messages.StateTerminated ||
						key == to.Key() && evs[n-1].ev.To == messages.StateRunning) {
						break
					}
				}
				steps, lines := map[string]int{}, ""
				for _, e := range evs {
					k := fmt.Sprintf("%s %s -> %s (%s)", e.ev.RequestID, e.ev.From, e.ev.To, e.ev.Reason)
					if o := e.ev.Operation; o != nil {
						k += fmt.Sprintf(" [%s %s %s]", o.Operation, o.RequestID, o.Status)
					}
					steps[k]++
					lines += "  " + e.id + " " + k + "\n"
				}
				for k, n := range steps {
					if n != 1 {
						t.Errorf("%s: %d events for step %q, want 1", key, n, k)
					}
				}
				if key == from.Key() {
					checkOperationSteps(t, evs, v2, "move")
				}
				if t.Failed() {
					t.Logf("status events of %s:\n%s", key, lines)
				}
			}
		})
		if !ok {
			return
		}
	}
}
