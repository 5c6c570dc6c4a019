package submit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/messages"
)

// TestTwoKubernetesClusters deploys through a clusters file naming two
// real control planes: each request lands in its cluster, a namespace not
// allowed there and an unknown cluster are refused.
func TestTwoKubernetesClusters(t *testing.T) {
	eu, us := kubetest.Start(t, kubetest.Options{}), kubetest.Start(t, kubetest.Options{})
	ctx := context.Background()
	for _, cp := range []*kubetest.ControlPlane{eu, us} {
		kubetest.CreateNamespace(t, cp.Clientset(), "flink")
	}
	file := filepath.Join(t.TempDir(), "clusters.yaml")
	if err := os.WriteFile(file, fmt.Appendf(nil, `clusters:
  - name: eu
    kubeconfig: %s
    allowedNamespaces: [flink]
    default: true
  - name: us
    kubeconfig: %s
    allowedNamespaces: [flink-us]
`, eu.KubeconfigPath(), us.KubeconfigPath()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := SubmitConfig{PolicyVars: kubeclusters.PolicyVars{ClustersFile: file}}
	cfgs, err := cfg.clusters()
	if err != nil {
		t.Fatal(err)
	}
	clusters, err := kubeclusters.Connect(cfgs, 50, 100)
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{Clusters: clusters, Topics: messages.DefaultTopics("flinkferry."), Config: cfg}

	deploy := func(kube, ns, id string) messages.Event {
		ev := imageBuilt(messages.ModeApplication, func(r *messages.SubmitRequested) {
			r.Job = messages.JobRef{KubeCluster: kube, Namespace: ns, ClusterID: id}
		})
		ev.Job = ev.Request.Job
		outs, err := h.Handle(ctx, ev)
		if err != nil {
			t.Fatalf("Handle(%s/%s/%s): %v", kube, ns, id, err)
		}
		return outs[0].Event
	}
	if _, ok := deploy("", "flink", "to-default").(*messages.Deployed); !ok {
		t.Error("default cluster: not deployed")
	}
	if _, ok := deploy("eu", "flink", "to-eu").(*messages.Deployed); !ok {
		t.Error("eu: not deployed")
	}
	for _, tt := range []struct{ kube, ns, id, reason string }{
		{"us", "flink", "wrong-ns", messages.DeployReasonNamespaceNotAllowed},
		{"mars", "flink", "nowhere", messages.DeployReasonUnknownKubeCluster},
	} {
		f, ok := deploy(tt.kube, tt.ns, tt.id).(*messages.DeployFailed)
		if !ok || f.Reason != tt.reason {
			t.Errorf("%s/%s: got %+v, want deploy failed %s", tt.kube, tt.ns, f, tt.reason)
		}
	}
	for _, tt := range []struct {
		cp   *kubetest.ControlPlane
		id   string
		want bool
	}{{eu, "to-default", true}, {eu, "to-eu", true}, {us, "to-eu", false}, {us, "to-default", false}} {
		_, err := tt.cp.Clientset().AppsV1().Deployments("flink").Get(ctx, tt.id, metav1.GetOptions{})
		if got := err == nil; got != tt.want {
			t.Errorf("Deployment %s present = %v, want %v", tt.id, got, tt.want)
		}
	}
}

func TestClustersFileValidation(t *testing.T) {
	for _, tt := range []struct{ yaml, want string }{
		{"clusters: []", "lists no cluster"},
		{"clusters:\n  - name: a\n    allowedNamespaces: [x]\n  - name: a\n    allowedNamespaces: [y]", `name "a" is used twice`},
		{"clusters:\n  - name: a", "allowedNamespaces is required"},
		{"clusters:\n  - name: a\n    allowedNamespaces: [x]\n    kubecfg: typo", "unknown field"},
		{"clusters:\n  - name: a\n    allowedNamespaces: [x]\n    podSecurity: strict", `pod security level "strict" is not privileged, baseline or restricted`},
		{"clusters:\n  - name: a\n    allowedNamespaces: [x]\n    namespacePodSecurity: {x: none}", `pod security level "none"`},
	} {
		file := filepath.Join(t.TempDir(), "c.yaml")
		os.WriteFile(file, []byte(tt.yaml), 0o600)
		_, err := SubmitConfig{PolicyVars: kubeclusters.PolicyVars{ClustersFile: file}}.clusters()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want %q", tt.yaml, err, tt.want)
		}
	}
}
