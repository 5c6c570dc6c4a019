package submit

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"

	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/messages"
)

// TestRBACDocumentedRolesAreEnough deploys as a service account bound to
// the roles of docs/rbac/submit-worker.yaml: refused before the binding,
// accepted after.
func TestRBACDocumentedRolesAreEnough(t *testing.T) {
	cp := kubetest.Shared(t)
	admin := cp.Clientset()
	ctx := context.Background()
	ns := "rbac"
	kubetest.CreateNamespace(t, admin, ns)
	rc, err := cp.ConfigFor(ctx, ns, "flinkferry-submit")
	if err != nil {
		t.Fatal(err)
	}
	asWorker, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	cl := &kubeclusters.Set{}
	cl.Add(kubeclusters.Config{Name: "default", Default: true, AllowedNamespaces: []string{ns}, AllowedServiceAccounts: []string{"default"}, RestAccess: kubeclusters.RestAccessAuto}, asWorker)
	h := &Handler{Clusters: cl, Topics: messages.DefaultTopics("flinkferry.")}
	ev := imageBuilt(messages.ModeApplication, func(r *messages.SubmitRequested) {
		r.Job = messages.JobRef{Namespace: ns, ClusterID: "wordcount"}
		r.Kubernetes.RestExposedType = messages.RestNodePort
	})
	ev.Job = ev.Request.Job

	outs, err := h.Handle(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := outs[0].Event.(*messages.DeployFailed); !ok || f.Reason != messages.DeployReasonKubernetesRefused {
		t.Fatalf("without RBAC: %+v, want deploy failed %s", outs[0].Event, messages.DeployReasonKubernetesRefused)
	}

	for _, obj := range readRBAC(t, "../../docs/rbac/submit-worker.yaml") {
		switch o := obj.(type) {
		case *rbacv1.Role:
			if _, err := admin.RbacV1().Roles(ns).Create(ctx, o, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			bind := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: o.Name},
				RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: o.Name},
				Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "flinkferry-submit", Namespace: ns}}}
			if _, err := admin.RbacV1().RoleBindings(ns).Create(ctx, bind, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		case *rbacv1.ClusterRole:
			if _, err := admin.RbacV1().ClusterRoles().Create(ctx, o, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			bind := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: o.Name},
				RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: o.Name},
				Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "flinkferry-submit", Namespace: ns}}}
			if _, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, bind, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	outs, err = h.Handle(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := outs[0].Event.(*messages.Deployed); !ok {
		t.Fatalf("with the documented RBAC: %+v, want deployed", outs[0].Event)
	}
	// The JobManager's documented Role is valid for the API server too.
	for _, obj := range readRBAC(t, "../../docs/rbac/flink-jobmanager.yaml") {
		if _, err := admin.RbacV1().Roles(ns).Create(ctx, obj.(*rbacv1.Role), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// readRBAC decodes the Roles and ClusterRoles of a multi-document YAML file.
func readRBAC(t *testing.T, path string) []any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []any
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	for {
		var meta metav1.TypeMeta
		var raw map[string]any
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatal(err)
		}
		meta.Kind, _ = raw["kind"].(string)
		var obj any
		switch meta.Kind {
		case "Role":
			obj = &rbacv1.Role{}
		case "ClusterRole":
			obj = &rbacv1.ClusterRole{}
		default:
			t.Fatalf("%s: unexpected kind %q", path, meta.Kind)
		}
		if err := convert(raw, obj); err != nil {
			t.Fatal(err)
		}
		out = append(out, obj)
	}
	return out
}
