package dev

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flinkferry/flinkferry/messages"
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
}
