package submit

import (
	"context"
	"fmt"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/messages"
)

// handlerIn is a submit handler on the shared API server, allowed in
// namespace ns (created), and its clientset.
func handlerIn(t *testing.T, ns string) (kubernetes.Interface, *Handler) {
	t.Helper()
	cs := kubetest.Shared(t).Clientset()
	kubetest.CreateNamespace(t, cs, ns)
	clusters := &kubeclusters.Set{}
	clusters.Add(kubeclusters.Config{Name: "default", Default: true, AllowedNamespaces: []string{ns}}, cs)
	return cs, &Handler{Clusters: clusters, Topics: messages.DefaultTopics("flinkferry.")}
}

// TestRequestIDConflict on the real API server: the same request again is
// applied (a redelivery); the same request id with other content is
// refused request_id_conflict naming both hashes, the running cluster
// untouched; a new request id passes.
func TestRequestIDConflict(t *testing.T) {
	const ns = "conflict"
	cs, h := handlerIn(t, ns)
	ctx := context.Background()
	event := func(requestID string, parallelism int) *messages.ImageBuilt {
		ev := imageBuilt(messages.ModeApplication, func(r *messages.SubmitRequested) {
			r.RequestID, r.Job = requestID, messages.JobRef{Namespace: ns, ClusterID: "wc"}
			r.Flink.Parallelism = parallelism
		})
		ev.RequestID, ev.Job = requestID, ev.Request.Job
		return ev
	}
	handle := func(ev *messages.ImageBuilt) messages.Event {
		t.Helper()
		outs, err := h.Handle(ctx, ev)
		if err != nil || len(outs) == 0 {
			t.Fatalf("Handle(%s): %v %v", ev.RequestID, outs, err)
		}
		return outs[0].Event
	}
	first := event("wc-1", 2)
	for range 2 {
		if _, ok := handle(first).(*messages.Deployed); !ok {
			t.Fatal("the request (and its redelivery) not deployed")
		}
	}
	changed := event("wc-1", 8)
	f, ok := handle(changed).(*messages.DeployFailed)
	if !ok || f.Reason != messages.DeployReasonRequestIDConflict ||
		!strings.Contains(f.Message, RequestHash(&first.Request)) || !strings.Contains(f.Message, RequestHash(&changed.Request)) {
		t.Fatalf("changed content under the same request id: %+v, want %s naming both hashes", f, messages.DeployReasonRequestIDConflict)
	}
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, "wc", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Annotations[AnnotationRequestHash]; got != RequestHash(&first.Request) {
		t.Fatalf("the refused request changed the cluster: hash %s", got)
	}
	// A new request id for the running cluster is an upgrade: handed to
	// the track worker, nothing applied here.
	up, ok := handle(event("wc-2", 8)).(*messages.UpgradeRequested)
	if !ok || up.Running != "wc-1" || up.Image.RequestID != "wc-2" || up.Image.UpgradeOf != "" {
		t.Fatalf("a new request id for a running cluster: %+v, want an upgrade of wc-1", up)
	}
	if d, _ := cs.AppsV1().Deployments(ns).Get(ctx, "wc", metav1.GetOptions{}); d.Annotations[AnnotationRequest] != "wc-1" {
		t.Fatal("the upgrade's request was applied before the old run was stopped")
	}
	// The track worker's hand-back while the old cluster is still there
	// waits (a transient error); the same with the cluster gone deploys.
	back := event("wc-2", 8)
	back.UpgradeOf = "wc-1"
	if _, err := h.Handle(ctx, back); err == nil || failure.IsPermanent(err) {
		t.Fatalf("hand-back with the old cluster there: %v, want a transient error", err)
	}
}

// TestUpgradedRequestRedelivered on the real API server: the cluster an
// upgrade deployed (the track worker's hand-back: upgrade_of set, the
// restore point in program.savepoint) receives the request as it was sent
// again (a redelivery from the build worker: no restore point). It is the
// request that runs, not a conflict, and applying it keeps the restore
// point in the cluster's configuration; other content under its id is
// still refused.
func TestUpgradedRequestRedelivered(t *testing.T) {
	const ns, sp = "upgraded", "s3://state/wc/savepoints/savepoint-ab12cd-0123456789ab"
	cs, h := handlerIn(t, ns)
	ctx := context.Background()
	event := func(parallelism int) *messages.ImageBuilt {
		ev := imageBuilt(messages.ModeApplication, func(r *messages.SubmitRequested) {
			r.RequestID, r.Job = "wc-2", messages.JobRef{Namespace: ns, ClusterID: "wc"}
			r.Flink.Parallelism = parallelism
		})
		ev.RequestID, ev.Job = "wc-2", ev.Request.Job
		return ev
	}
	back := event(4)
	back.UpgradeOf = "wc-1"
	p := *back.Request.Program
	p.Savepoint = &messages.Savepoint{Path: sp}
	back.Request.Program = &p
	outs, err := h.Handle(ctx, back)
	if err != nil || len(outs) != 1 {
		t.Fatalf("hand-back: %v %v", outs, err)
	}
	conf := func() string {
		t.Helper()
		cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "flink-config-wc", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return cm.Data["config.yaml"] + cm.Data["flink-conf.yaml"]
	}
	if !strings.Contains(conf(), "execution.savepoint.path: "+sp) {
		t.Fatalf("the upgraded run does not restore from %s:\n%s", sp, conf())
	}
	before, err := cs.AppsV1().Deployments(ns).Get(ctx, "wc", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	outs, err = h.Handle(ctx, event(4))
	if err != nil || len(outs) != 1 {
		t.Fatalf("redelivered request: %v %v", outs, err)
	}
	dep, ok := outs[0].Event.(*messages.Deployed)
	if !ok {
		t.Fatalf("redelivered request: %#v, want deployed (it is the request that runs)", outs[0].Event)
	}
	if dep.Request == nil || dep.Request.Program.Savepoint == nil || dep.Request.Program.Savepoint.Path != sp {
		t.Errorf("deployed event of the redelivery: request %+v, want the restore point %s", dep.Request, sp)
	}
	if !strings.Contains(conf(), "execution.savepoint.path: "+sp) {
		t.Errorf("the redelivery removed the restore point:\n%s", conf())
	}
	after, err := cs.AppsV1().Deployments(ns).Get(ctx, "wc", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.UID != before.UID || after.Generation != before.Generation {
		t.Errorf("the redelivery changed the Deployment: generation %d -> %d", before.Generation, after.Generation)
	}

	outs, err = h.Handle(ctx, event(8))
	if err != nil || len(outs) != 1 {
		t.Fatalf("changed request: %v %v", outs, err)
	}
	if f, ok := outs[0].Event.(*messages.DeployFailed); !ok || f.Reason != messages.DeployReasonRequestIDConflict {
		t.Fatalf("other content under the upgraded request's id: %#v, want %s", outs[0].Event, messages.DeployReasonRequestIDConflict)
	}
}

// TestUpgradeRedeliveredWhileTheOldClusterIsGone on the real API server:
// a request handed over as an upgrade is delivered again after the track
// worker removed the old cluster and before its hand-back (the submit
// worker killed before it committed the hand-over). It is handed over
// again, nothing applied; the hand-back then deploys the new run with its
// restore point, and the mark it leaves is owned by the new Deployment.
func TestUpgradeRedeliveredWhileTheOldClusterIsGone(t *testing.T) {
	const ns, sp = "upgrade-gap", "s3://state/wc/savepoints/savepoint-0a1b2c-0123456789ab"
	cs, h := handlerIn(t, ns)
	ctx := context.Background()
	event := func(requestID string, parallelism int) *messages.ImageBuilt {
		ev := imageBuilt(messages.ModeApplication, func(r *messages.SubmitRequested) {
			r.RequestID, r.Job = requestID, messages.JobRef{Namespace: ns, ClusterID: "wc"}
			r.Flink.Parallelism = parallelism
		})
		ev.RequestID, ev.Job = requestID, ev.Request.Job
		return ev
	}
	handle := func(ev *messages.ImageBuilt) messages.Event {
		t.Helper()
		outs, err := h.Handle(ctx, ev)
		if err != nil || len(outs) != 1 {
			t.Fatalf("Handle(%s): %v %v", ev.RequestID, outs, err)
		}
		return outs[0].Event
	}
	if _, ok := handle(event("wc-1", 1)).(*messages.Deployed); !ok {
		t.Fatal("wc-1 not deployed")
	}
	if up, ok := handle(event("wc-2", 2)).(*messages.UpgradeRequested); !ok || up.Running != "wc-1" {
		t.Fatalf("wc-2: %+v, want an upgrade of wc-1", up)
	}
	// The track worker removes the old cluster.
	if err := cs.AppsV1().Deployments(ns).Delete(ctx, "wc", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if up, ok := handle(event("wc-2", 2)).(*messages.UpgradeRequested); !ok || up.Running != "wc-1" {
		t.Fatalf("wc-2 delivered again with the old cluster gone: %#v, want the upgrade of wc-1 handed over again", up)
	}
	if _, err := cs.AppsV1().Deployments(ns).Get(ctx, "wc", metav1.GetOptions{}); err == nil {
		t.Fatal("the redelivery was applied as a new job")
	}
	back := event("wc-2", 2)
	back.UpgradeOf = "wc-1"
	p := *back.Request.Program
	p.Savepoint = &messages.Savepoint{Path: sp}
	back.Request.Program = &p
	dep, ok := handle(back).(*messages.Deployed)
	if !ok {
		t.Fatal("the hand-back was not deployed")
	}
	mark, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, upgradeMarkName("wc"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if mark.Data["state"] != markDeployed || len(mark.OwnerReferences) != 1 || string(mark.OwnerReferences[0].UID) != dep.ObjectUIDs["Deployment/wc"] {
		t.Errorf("upgrade mark %v owned by %v, want deployed, owned by the new Deployment %s", mark.Data, mark.OwnerReferences, dep.ObjectUIDs["Deployment/wc"])
	}
	// And the request as sent, once more: the request that runs.
	if _, ok := handle(event("wc-2", 2)).(*messages.Deployed); !ok {
		t.Fatal("wc-2 delivered again after the upgrade: not the request that runs")
	}
}

// TestEndedRunNotStartedAgain on the real API server: a request delivered
// again after its cluster was removed (suspended) applies nothing and
// emits nothing; the resume's request is applied; the first request
// delivered once more while the resumed run is up is not an upgrade back
// to it. The run mark keeps the last maxRunMarkIDs request ids.
func TestEndedRunNotStartedAgain(t *testing.T) {
	const ns = "ended-run"
	cs, h := handlerIn(t, ns)
	ctx := context.Background()
	event := func(requestID string) *messages.ImageBuilt {
		ev := imageBuilt(messages.ModeApplication, func(r *messages.SubmitRequested) {
			r.RequestID, r.Job = requestID, messages.JobRef{Namespace: ns, ClusterID: "er"}
		})
		ev.RequestID, ev.Job = requestID, ev.Request.Job
		return ev
	}
	handle := func(ev *messages.ImageBuilt) []bus.Out {
		t.Helper()
		outs, err := h.Handle(ctx, ev)
		if err != nil {
			t.Fatalf("Handle(%s): %v", ev.RequestID, err)
		}
		return outs
	}
	runs := func() string {
		t.Helper()
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, "er", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return ""
		}
		if err != nil {
			t.Fatal(err)
		}
		return d.Annotations[AnnotationRequest]
	}
	if outs := handle(event("er-1")); len(outs) != 1 {
		t.Fatalf("er-1: %v, want deployed", outs)
	}
	// The track worker suspends the job: the cluster goes.
	if err := cs.AppsV1().Deployments(ns).Delete(ctx, "er", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if outs := handle(event("er-1")); len(outs) != 0 || runs() != "" {
		t.Fatalf("er-1 delivered again after its cluster was removed: %v, Deployment of %q; want nothing", outs, runs())
	}
	if outs := handle(event("er-resume")); len(outs) != 1 || runs() != "er-resume" {
		t.Fatalf("the resume: %v, Deployment of %q", outs, runs())
	}
	if outs := handle(event("er-1")); len(outs) != 0 || runs() != "er-resume" {
		t.Fatalf("er-1 delivered again while the resumed run is up: %v, Deployment of %q; want nothing", outs, runs())
	}
	// The resume's own redelivery is the run that is up: applied again.
	if outs := handle(event("er-resume")); len(outs) != 1 {
		t.Fatalf("the resume delivered again: %v, want deployed", outs)
	}
	for i := range maxRunMarkIDs + 3 {
		if err := markRun(ctx, cs, event(fmt.Sprintf("er-%d", i+10))); err != nil {
			t.Fatal(err)
		}
	}
	ids, err := runMarkIDs(ctx, cs, messages.JobRef{Namespace: ns, ClusterID: "er"})
	if err != nil || len(ids) != maxRunMarkIDs || ids[len(ids)-1] != fmt.Sprintf("er-%d", maxRunMarkIDs+12) {
		t.Fatalf("run mark %v (%v), want the last %d request ids", ids, err, maxRunMarkIDs)
	}
}
