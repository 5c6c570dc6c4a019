package kubetest_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flinkferry/flinkferry/internal/kubetest"
)

// TestTwoControlPlanesAreIndependent runs two control planes at once and
// checks an object written to one is absent from the other.
func TestTwoControlPlanesAreIndependent(t *testing.T) {
	a := kubetest.Start(t, kubetest.Options{})
	b := kubetest.Start(t, kubetest.Options{})
	if a.Host() == b.Host() {
		t.Fatalf("both control planes listen on %s", a.Host())
	}
	ctx := t.Context()
	const ns = "independent"
	for _, cp := range []*kubetest.ControlPlane{a, b} {
		if _, err := cp.Clientset().CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
			ObjectMeta: metav1.ObjectMeta{Name: ns},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating namespace %s on %s: %v", ns, cp.Host(), err)
		}
	}
	if _, err := a.Clientset().CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "only-in-a"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating a ConfigMap in a: %v", err)
	}
	if _, err := a.Clientset().CoreV1().ConfigMaps(ns).Get(ctx, "only-in-a", metav1.GetOptions{}); err != nil {
		t.Errorf("getting the ConfigMap from a: %v", err)
	}
	if _, err := b.Clientset().CoreV1().ConfigMaps(ns).Get(ctx, "only-in-a", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("getting a's ConfigMap from b: err = %v, want NotFound", err)
	}

	// Credentials of one are not valid on the other: separate CAs and keys.
	token, err := a.TokenFor(ctx, ns, "worker")
	if err != nil {
		t.Fatalf("TokenFor on a: %v", err)
	}
	cfg := b.Config()
	cfg.CertData, cfg.KeyData, cfg.BearerToken = nil, nil, token
	if _, err := kubernetesFor(t, cfg).CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsUnauthorized(err) {
		t.Errorf("a's token on b: err = %v, want Unauthorized", err)
	}
}
