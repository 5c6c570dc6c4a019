package flinkferry_test

import (
	"slices"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestNetworkPolicies: with testdata/values/monitoring.yaml each worker's
// policy selects exactly its pods, admits only the ops port from the
// monitoring namespace, and lets out DNS plus the peers that worker talks
// to, on their ports (Redis only for track and alert, the API server only
// for submit and track, Kafka for all, to the addresses the values give).
func TestNetworkPolicies(t *testing.T) {
	const release = "monitoring"
	objs := rendered(t, render(t, release, "testdata/values/monitoring.yaml"))
	wantPorts := map[string][]int32{
		"build":  {53, 9092, 9093, 443, 5000, 443},
		"submit": {53, 9092, 9093, 443, 6443, 8081, 443, 5000},
		"track":  {53, 9092, 9093, 6379, 443, 6443, 8081},
		"alert":  {53, 9092, 9093, 6379, 443, 9093, 587},
	}
	for w, want := range wantPorts {
		u := objs["NetworkPolicy/"+release+"-flinkferry-"+w]
		if u == nil {
			t.Fatalf("no NetworkPolicy for %s", w)
		}
		var np networkingv1.NetworkPolicy
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &np); err != nil {
			t.Fatal(err)
		}
		d := deploymentOf(t, objs["Deployment/"+release+"-flinkferry-"+w].Object)
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil {
			t.Fatal(err)
		}
		if !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("%s: policy selector %s misses its pods", w, sel)
		}
		for other := range wantPorts {
			if o := objs["Deployment/"+release+"-flinkferry-"+other]; other != w && sel.Matches(labels.Set(deploymentOf(t, o.Object).Spec.Template.Labels)) {
				t.Errorf("%s: policy also selects %s's pods", w, other)
			}
		}
		if len(np.Spec.Ingress) != 1 || len(np.Spec.Ingress[0].Ports) != 1 || np.Spec.Ingress[0].Ports[0].Port.IntValue() != 9090 ||
			len(np.Spec.Ingress[0].From) != 1 || np.Spec.Ingress[0].From[0].NamespaceSelector == nil {
			t.Errorf("%s: ingress %+v, want the ops port from the monitoring namespace only", w, np.Spec.Ingress)
		}
		var got []int32
		for _, r := range np.Spec.Egress {
			for _, p := range r.Ports {
				if p.Port.IntValue() == 53 && *p.Protocol == "TCP" {
					continue // DNS is listed for UDP and TCP
				}
				got = append(got, int32(p.Port.IntValue()))
				if p.Port.IntValue() == 6379 && (len(r.To) != 1 || r.To[0].IPBlock == nil || r.To[0].IPBlock.CIDR != "10.20.0.0/16") {
					t.Errorf("%s: Redis egress to %+v, want 10.20.0.0/16", w, r.To)
				}
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: egress ports %v, want %v", w, got, want)
		}
	}
}
