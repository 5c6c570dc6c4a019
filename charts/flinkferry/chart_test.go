// Package flinkferry_test renders the Helm chart with a pinned helm and
// applies the result to a real kube-apiserver, which validates every object.
package flinkferry_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"github.com/flinkferry/flinkferry/internal/kubetest"
)

func TestMain(m *testing.M) { kubetest.Main(m) }

// helmBuild is the command that builds the pinned helm (hack/tools).
const helmBuild = "go build -C hack/tools -o ~/.cache/flinkferry/tools/helm helm.sh/helm/v3/cmd/helm"

func helm(t *testing.T, args ...string) []byte {
	t.Helper()
	bin := os.Getenv("FLINKFERRY_HELM")
	if bin == "" {
		home, _ := os.UserHomeDir()
		bin = filepath.Join(home, ".cache", "flinkferry", "tools", "helm")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("helm not found at %s: build it with `%s` (or run `bash .ci/run`)", bin, helmBuild)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

func TestChartLints(t *testing.T) {
	helm(t, "lint", "--strict", ".")
}

func TestChartAppliesToARealAPIServer(t *testing.T) {
	out := helm(t, "template", "ff", ".", "--namespace", "flinkferry", "--kube-version", kubetest.KubernetesVersion,
		"--set", "workers.submit.enabled=true", "--set", "workers.track.enabled=true",
		"--set", "existingSecret=ff-secrets", "--set", "image.digest=sha256:"+strings.Repeat("a", 64))

	cp := kubetest.Shared(t)
	ctx := context.Background()
	cs := cp.Clientset()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "flinkferry"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cp.Config())
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cp.Config())
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))

	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(out), 4096)
	kinds := map[string]int{}
	for {
		var obj unstructured.Unstructured
		if err := dec.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatal(err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		gvk := obj.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("%s: %v", gvk, err)
		}
		if _, err := dyn.Resource(m.Resource).Namespace("flinkferry").Apply(ctx, obj.GetName(), &obj, metav1.ApplyOptions{FieldManager: "helm-test"}); err != nil {
			t.Errorf("applying %s %s: %v", gvk.Kind, obj.GetName(), err)
		}
		kinds[gvk.Kind]++
	}
	if kinds["Deployment"] != 3 || kinds["ServiceAccount"] != 3 || kinds["Service"] != 3 || kinds["ConfigMap"] != 1 {
		t.Errorf("rendered kinds = %v, want 3 Deployments, ServiceAccounts and Services, 1 ConfigMap", kinds)
	}

	d, err := cs.AppsV1().Deployments("flinkferry").Get(ctx, "ff-flinkferry-build", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if got, want := strings.Join(c.Args, " "), "worker build"; got != want {
		t.Errorf("args = %q, want %q", got, want)
	}
	if !strings.Contains(c.Image, "@sha256:") {
		t.Errorf("image %s not pinned by digest", c.Image)
	}
	if len(c.EnvFrom) != 2 || c.EnvFrom[1].SecretRef == nil || c.EnvFrom[1].SecretRef.Name != "ff-secrets" {
		t.Errorf("envFrom = %+v, want the env ConfigMap and the ff-secrets Secret", c.EnvFrom)
	}
	if sc := d.Spec.Template.Spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("pod does not run as non-root")
	}
}
