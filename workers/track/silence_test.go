package track

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/flinkferry/flinkferry/internal/flinkrest"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/state"
)

// setReadySince marks a pod Ready since at (the kubelet's Ready condition).
func setReadySince(ctx context.Context, cs kubernetes.Interface, ns, name string, at time.Time) error {
	p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	found := false
	for i, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			p.Status.Conditions[i].Status, p.Status.Conditions[i].LastTransitionTime = corev1.ConditionTrue, metav1.NewTime(at)
			found = true
		}
	}
	if !found {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(at)})
	}
	_, err = cs.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	return err
}

// TestTrackSilentToLostWhateverPodAge measures on the real peers how long
// a RUNNING job whose REST API stops answering takes to be LOST, with its
// JobManager pod ready for 10 s, 60 s and 10 min when the outage begins
// (the job-status timeout is the deployed 120 s, the silent-state keep 3 s
// to keep the test short): SilentKeep ± one poll interval after the first
// silent poll, with exactly two status events, SILENT and LOST. Before the
// fix, the two younger pods moved SILENT back to K8S_INITIALIZING.
func TestTrackSilentToLostWhateverPodAge(t *testing.T) {
	r, cp := testenv.Redis(t), kubetest.Shared(t)
	ns := "track-silence"
	cs := cp.Clientset()
	kubetest.CreateNamespace(t, cs, ns)
	sim, hc := startSim(t)
	cfg := fastTrack("", ns)
	cfg.JobStatusTimeout = state.DefaultStartTimeout
	store := newStore(t, r, cfg.Shards)
	ctx := context.Background()

	ages := []time.Duration{10 * time.Second, time.Minute, 10 * time.Minute}
	outage := time.Now().Add(10 * time.Second)
	keys := make([]string, len(ages))
	for i, age := range ages {
		id := fmt.Sprintf("ready-%d", i)
		d := flinkCluster(t, cs, ns, id, jobIDOf(i))
		pod, err := kubetest.CreatePodFor(ctx, cs, d, corev1.PodRunning, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := kubetest.SetPodRunning(ctx, cs, ns, pod.Name); err != nil {
			t.Fatal(err)
		}
		if err := setReadySince(ctx, cs, ns, pod.Name, outage.Add(-age)); err != nil {
			t.Fatal(err)
		}
		runningCluster(sim, id, jobIDOf(i))
		ev := deployed(ns, id, jobIDOf(i), restURL(ns, id))
		if _, err := store.Register(ctx, ev, time.Now()); err != nil {
			t.Fatal(err)
		}
		keys[i] = ev.Job.Key()
	}
	clusters := &kubeclusters.Set{}
	clusters.Add(kubeclusters.Config{Name: "default", Default: true, AllowedNamespaces: []string{ns}}, cs)
	events := &eventLog{}
	startReplicaWith(t, r, cfg, "r1", Deps{
		Flink: flinkrest.New(flinkrest.Options{HTTPClient: hc, RequestTimeout: cfg.RequestTimeout}), Publisher: events, Clusters: clusters,
	})
	for _, k := range keys {
		waitState(t, store, k, messages.StateRunning, 15*time.Second)
	}
	time.Sleep(time.Until(outage))
	for i := range ages {
		sim.RemoveCluster(kubeclusters.RestServiceName(fmt.Sprintf("ready-%d", i)))
	}
	outage = time.Now()
	for _, k := range keys {
		waitState(t, store, k, messages.StateLost, cfg.SilentStateKeep+5*time.Second)
	}
	time.Sleep(2 * time.Second) // room for an extra event
	interval := cfg.JobStatusInterval
	for i, age := range ages {
		evs := events.of(keys[i], outage)
		if len(evs) != 2 || evs[0].From != messages.StateRunning || evs[0].To != messages.StateSilent || evs[1].To != messages.StateLost {
			var got []string
			for _, ev := range evs {
				got = append(got, fmt.Sprintf("%s>%s (%s) at +%s", ev.From, ev.To, ev.Reason, ev.Time.Sub(outage).Round(time.Millisecond)))
			}
			t.Errorf("pod ready for %s: events after the outage %v, want RUNNING>SILENT, SILENT>LOST", age, got)
			continue
		}
		fromPoll, fromOutage := evs[1].Time.Sub(evs[0].Time), evs[1].Time.Sub(outage)
		t.Logf("pod ready for %s: SILENT %s after the outage, LOST %s after the first silent poll, %s after the outage",
			age, evs[0].Time.Sub(outage).Round(time.Millisecond), fromPoll.Round(time.Millisecond), fromOutage.Round(time.Millisecond))
		// Rounds are decided when their results are written (every
		// flushEvery), so the poll that lands on SilentKeep may be decided
		// a hair short of it and the next one reads LOST.
		if fromPoll < cfg.SilentStateKeep-interval || fromPoll > cfg.SilentStateKeep+interval+flushEvery {
			t.Errorf("pod ready for %s: LOST %s after the first silent poll, want %s ± %s", age, fromPoll, cfg.SilentStateKeep, interval)
		}
		if limit := cfg.SilentStateKeep + 2*interval + flushEvery; fromOutage > limit {
			t.Errorf("pod ready for %s: LOST %s after the outage, want at most %s (the first silent poll comes within an interval)", age, fromOutage, limit)
		}
	}
}
