package flinkferry_test

import (
	"testing"
)

// TestPerWorkerScheduling: with testdata/values/production.yaml the build
// worker's nodeSelector and (empty) tolerations replace the shared ones,
// and the other workers keep the shared ones.
func TestPerWorkerScheduling(t *testing.T) {
	objs := rendered(t, render(t, "production", "testdata/values/production.yaml"))
	for _, tc := range []struct {
		worker, node string
		tolerations  int
	}{
		{"build", "ssd", 0},
		{"submit", "", 1},
		{"track", "", 1},
	} {
		pod := deploymentOf(t, objs["Deployment/production-flinkferry-"+tc.worker].Object).Spec.Template.Spec
		if got := pod.NodeSelector["node.example.com/disk"]; got != tc.node {
			t.Errorf("%s: disk selector %q, want %q", tc.worker, got, tc.node)
		}
		if tc.node == "" && pod.NodeSelector["kubernetes.io/os"] != "linux" {
			t.Errorf("%s: nodeSelector %v, want the shared one", tc.worker, pod.NodeSelector)
		}
		if got := len(pod.Tolerations); got != tc.tolerations {
			t.Errorf("%s: %d tolerations, want %d", tc.worker, got, tc.tolerations)
		}
		if pod.Affinity == nil || len(pod.TopologySpreadConstraints) != 2 {
			t.Errorf("%s: affinity %v, %d spread constraints; want the shared ones", tc.worker, pod.Affinity, len(pod.TopologySpreadConstraints))
		}
	}
}
