package flinkferry_test

import (
	"context"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/flinkferry/flinkferry/internal/kubetest"
)

// TestDisruptionBudgets: a worker with more than one replica gets a
// PodDisruptionBudget selecting exactly its pods; one with a single
// replica gets none (it would block node drains); spread constraints
// without a selector count the worker's own pods.
func TestDisruptionBudgets(t *testing.T) {
	const release, ns = "pdbtest", "ff-pdbtest"
	out := helm(t, "template", release, ".", "--namespace", ns, "--kube-version", kubetest.KubernetesVersion,
		"--set", "workers.submit.replicas=1",
		"--set", "topologySpreadConstraints[0].maxSkew=1",
		"--set", "topologySpreadConstraints[0].topologyKey=topology.kubernetes.io/zone",
		"--set", "topologySpreadConstraints[0].whenUnsatisfiable=ScheduleAnyway")
	cp := kubetest.Shared(t)
	kinds := applyManifests(t, cp, out, ns)
	if got, want := kinds["PodDisruptionBudget"], 2; got != want {
		t.Errorf("PodDisruptionBudgets = %d, want %d (build and track; submit has one replica)", got, want)
	}
	ctx := context.Background()
	cs := cp.Clientset()
	pdbs, err := cs.PolicyV1().PodDisruptionBudgets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pdbs.Items {
		names = append(names, p.Name)
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, p.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("budget %s has no Deployment of its name: %v", p.Name, err)
		}
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err != nil {
			t.Fatal(err)
		}
		if !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("budget %s selector %s does not match its pods %v", p.Name, sel, d.Spec.Template.Labels)
		}
		if got, want := p.Spec.MaxUnavailable.String(), "1"; got != want {
			t.Errorf("budget %s maxUnavailable = %s, want %s", p.Name, got, want)
		}
	}
	slices.Sort(names)
	if want := []string{release + "-flinkferry-build", release + "-flinkferry-track"}; !slices.Equal(names, want) {
		t.Errorf("budgets = %v, want %v", names, want)
	}

	d, err := cs.AppsV1().Deployments(ns).Get(ctx, release+"-flinkferry-submit", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tsc := d.Spec.Template.Spec.TopologySpreadConstraints
	if len(tsc) != 1 || tsc[0].LabelSelector == nil {
		t.Fatalf("topologySpreadConstraints = %+v, want one with the worker's selector", tsc)
	}
	sel, err := metav1.LabelSelectorAsSelector(tsc[0].LabelSelector)
	if err != nil {
		t.Fatal(err)
	}
	if !sel.Matches(labels.Set(d.Spec.Template.Labels)) || sel.Matches(labels.Set{"app.kubernetes.io/instance": release, "app.kubernetes.io/component": "track"}) {
		t.Errorf("spread selector %s should count the submit pods only", sel)
	}
}
