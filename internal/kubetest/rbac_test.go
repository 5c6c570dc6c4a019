package kubetest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/flinkferry/flinkferry/internal/kubetest"
)

// TestServerSideApplyFollowsRBAC applies a Flink job's objects as admin, then
// as a ServiceAccount without any Role (refused), then with a namespaced Role
// (accepted).
func TestServerSideApplyFollowsRBAC(t *testing.T) {
	cp := kubetest.Shared(t)
	ctx := t.Context()
	admin := cp.Clientset()
	ns := newNamespace(t, admin, "rbac")

	for i, err := range newJobManager(ns, "by-admin").apply(ctx, admin) {
		if err != nil {
			t.Fatalf("admin apply #%d: %v", i, err)
		}
	}
	d, err := admin.AppsV1().Deployments(ns).Get(ctx, "by-admin", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("getting the applied Deployment: %v", err)
	}
	if got, want := d.ManagedFields[0].Manager, fieldManager; got != want {
		t.Errorf("managedFields[0].manager = %q, want %q", got, want)
	}

	cfg, err := cp.ConfigFor(ctx, ns, "submit-worker")
	if err != nil {
		t.Fatalf("ConfigFor: %v", err)
	}
	worker, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	job := newJobManager(ns, "by-worker")
	for i, err := range job.apply(ctx, worker) {
		if !apierrors.IsForbidden(err) {
			t.Fatalf("apply #%d without a Role: err = %v, want Forbidden", i, err)
		}
		if want := "system:serviceaccount:" + ns + ":submit-worker"; !strings.Contains(err.Error(), want) {
			t.Errorf("apply #%d: error %q does not name %s", i, err, want)
		}
	}

	role := rbacv1ac.Role("flinkferry-submit", ns).WithRules(rbacv1ac.PolicyRule().
		WithAPIGroups("apps").WithResources("deployments").
		WithVerbs("get", "list", "watch", "create", "update", "patch", "delete"),
		rbacv1ac.PolicyRule().
			WithAPIGroups("").WithResources("configmaps", "services").
			WithVerbs("get", "list", "watch", "create", "update", "patch", "delete"))
	binding := rbacv1ac.RoleBinding("flinkferry-submit", ns).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup("rbac.authorization.k8s.io").WithKind("Role").WithName("flinkferry-submit")).
		WithSubjects(rbacv1ac.Subject().WithKind("ServiceAccount").WithName("submit-worker").WithNamespace(ns))
	opts := metav1.ApplyOptions{FieldManager: fieldManager}
	if _, err := admin.RbacV1().Roles(ns).Apply(ctx, role, opts); err != nil {
		t.Fatalf("applying the Role: %v", err)
	}
	if _, err := admin.RbacV1().RoleBindings(ns).Apply(ctx, binding, opts); err != nil {
		t.Fatalf("applying the RoleBinding: %v", err)
	}

	// The RBAC authorizer learns of new bindings through a watch: allow it a
	// moment.
	eventually(t, 10*time.Second, "apply with a Role", func(ctx context.Context) error {
		var errs []error
		for i, err := range job.apply(ctx, worker) {
			if err != nil {
				errs = append(errs, fmt.Errorf("apply #%d: %w", i, err))
			}
		}
		return errors.Join(errs...)
	})
	if _, err := worker.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("listing Secrets, which the Role does not grant: err = %v, want Forbidden", err)
	}
}

// TestKubeconfigForActsAsServiceAccount checks the token-based kubeconfig
// names the account and that the minted token authenticates as it.
func TestKubeconfigForActsAsServiceAccount(t *testing.T) {
	cp := kubetest.Shared(t)
	ctx := t.Context()
	ns := newNamespace(t, cp.Clientset(), "kubeconfig")
	kc, err := cp.KubeconfigFor(ctx, ns, "jobmanager")
	if err != nil {
		t.Fatalf("KubeconfigFor: %v", err)
	}
	for _, want := range []string{"server: \"" + cp.Host() + "\"", "certificate-authority-data: ", "token: ", "system:serviceaccount:" + ns + ":jobmanager"} {
		if !strings.Contains(string(kc), want) {
			t.Errorf("kubeconfig lacks %q:\n%s", want, kc)
		}
	}
	cfg, err := cp.ConfigFor(ctx, ns, "jobmanager")
	if err != nil {
		t.Fatalf("ConfigFor: %v", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	review, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("SelfSubjectReview: %v", err)
	}
	if got, want := review.Status.UserInfo.Username, "system:serviceaccount:"+ns+":jobmanager"; got != want {
		t.Errorf("authenticated as %q, want %q", got, want)
	}
}
