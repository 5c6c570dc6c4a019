// Package flinkferry_test renders the Helm chart with a pinned helm and
// applies the result to a real kube-apiserver, which validates every object.
package flinkferry_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.MainFunc(func() int { return kubetest.Run(m, kubetest.Options{}) })
}

// helmBuild is the command that builds the pinned helm (hack/tools).
const helmBuild = "go build -C hack/tools -o ~/.cache/flinkferry/tools/helm helm.sh/helm/v3/cmd/helm"

func helm(t *testing.T, args ...string) []byte {
	t.Helper()
	out, err := runHelm(helmBin(t), args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// helmFails runs helm, expecting it to fail, and returns its error output.
func helmFails(t *testing.T, args ...string) string {
	t.Helper()
	out, err := runHelm(helmBin(t), args...)
	if err == nil {
		t.Fatalf("helm %s succeeded, want an error; output:\n%s", strings.Join(args, " "), out)
	}
	return err.Error()
}

// wantRefused renders the chart with set (--set values) and fails t
// unless helm refuses it with an error containing want.
func wantRefused(t *testing.T, want string, set ...string) {
	t.Helper()
	args := []string{"template", "x", ".", "--kube-version", kubetest.KubernetesVersion}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	if msg := helmFails(t, args...); !strings.Contains(msg, want) {
		t.Errorf("helm template failed with\n%s\nwant %q", msg, want)
	}
}

func helmBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("FLINKFERRY_HELM")
	if bin == "" {
		home, _ := os.UserHomeDir()
		bin = filepath.Join(home, ".cache", "flinkferry", "tools", "helm")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("helm not found at %s: build it with `%s` (or run `bash .ci/run`)", bin, helmBuild)
	}
	return bin
}

func runHelm(bin string, args ...string) ([]byte, error) {
	var stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// TestChartLints runs helm lint --strict on the defaults and on every
// values file of testdata/values.
func TestChartLints(t *testing.T) {
	helm(t, "lint", "--strict", ".")
	files, err := filepath.Glob("testdata/values/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/values/*.yaml: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			helm(t, "lint", "--strict", ".", "--kube-version", kubetest.KubernetesVersion, "-f", f)
		})
	}
}

func TestChartAppliesToARealAPIServer(t *testing.T) {
	out := helm(t, "template", "ff", ".", "--namespace", "flinkferry", "--kube-version", kubetest.KubernetesVersion,
		"--set", "workers.submit.enabled=true", "--set", "workers.track.enabled=true",
		"--set", "existingSecret=ff-secrets", "--set", "image.digest=sha256:"+strings.Repeat("a", 64))

	cp := kubetest.Shared(t)
	ctx := context.Background()
	cs := cp.Clientset()
	kinds := applyManifests(t, cp, out, "flinkferry")
	if kinds["Deployment"] != 3 || kinds["ServiceAccount"] != 4 || kinds["Service"] != 3 || kinds["ConfigMap"] != 1 ||
		kinds["Role"] != 3 || kinds["RoleBinding"] != 3 || kinds["ClusterRole"] != 1 {
		t.Errorf("rendered kinds = %v, want 3 Deployments and Services, 4 ServiceAccounts (the workers', the JobManager's), 1 ConfigMap, Roles and RoleBindings for submit, track and the JobManager in flink-jobs, 1 ClusterRole", kinds)
	}

	// The workers' service accounts may do their job in flink-jobs and
	// nothing in other namespaces.
	for _, tc := range []struct {
		sa, verb, resource, ns string
		want                   bool
	}{
		{"submit", "patch", "deployments", "flink-jobs", true},
		{"submit", "delete", "deployments", "flink-jobs", false},
		{"submit", "patch", "deployments", "kube-system", false},
		{"track", "watch", "pods", "flink-jobs", true},
		{"track", "delete", "deployments", "flink-jobs", true},
		{"track", "create", "deployments", "flink-jobs", false},
		{"track", "list", "pods", "default", false},
		// Removing a whole cluster (workers/track cleanup.go): the
		// Deployment, then everything with the cluster's labels.
		{"track", "deletecollection", "deployments", "flink-jobs", true},
		{"track", "deletecollection", "pods", "flink-jobs", true},
		{"track", "deletecollection", "configmaps", "flink-jobs", true},
		{"track", "list", "configmaps", "flink-jobs", true},
		{"track", "list", "services", "flink-jobs", true},
		{"track", "delete", "services", "flink-jobs", true},
		{"track", "create", "configmaps", "flink-jobs", false},
		{"track", "get", "configmaps", "flink-jobs", false},
		{"track", "deletecollection", "configmaps", "default", false},
		{"track", "delete", "services", "kube-system", false},
	} {
		user := "system:serviceaccount:flinkferry:ff-flinkferry-" + tc.sa
		group := "apps"
		if tc.resource != "deployments" {
			group = ""
		}
		r, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: user, Groups: []string{"system:serviceaccounts"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: tc.ns, Verb: tc.verb, Group: group, Resource: tc.resource},
		}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status.Allowed != tc.want {
			t.Errorf("%s may %s %s in %s = %v, want %v", tc.sa, tc.verb, tc.resource, tc.ns, r.Status.Allowed, tc.want)
		}
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

// applyManifests applies every object of a rendered chart server-side to
// the API server, which validates them, creating the release namespace and
// the namespaces objects name when missing; it returns the count of each
// kind applied.
func applyManifests(t *testing.T, cp *kubetest.ControlPlane, manifests []byte, releaseNS string) map[string]int {
	t.Helper()
	ctx := context.Background()
	dyn, err := dynamic.NewForConfig(cp.Config())
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cp.Config())
	if err != nil {
		t.Fatal(err)
	}
	installCRDs(t, cp)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	ensureNamespace(t, cp, releaseNS)

	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifests), 4096)
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
		var client dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			ns := obj.GetNamespace()
			if ns == "" {
				ns = releaseNS
			}
			ensureNamespace(t, cp, ns)
			client = dyn.Resource(m.Resource).Namespace(ns)
		}
		if _, err := client.Apply(ctx, obj.GetName(), &obj, metav1.ApplyOptions{FieldManager: "helm-test"}); err != nil {
			t.Errorf("applying %s %s: %v", gvk.Kind, obj.GetName(), err)
		}
		kinds[gvk.Kind]++
	}
	return kinds
}

// ensureNamespace creates namespace name unless it exists.
func ensureNamespace(t *testing.T, cp *kubetest.ControlPlane, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	_, err := cp.Clientset().CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
}
