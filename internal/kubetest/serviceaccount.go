package kubetest

import (
	"context"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// tokenLifetime is the validity asked of minted tokens: longer than any test
// binary runs, so tests never see one expire.
const tokenLifetime = 24 * 60 * 60 // seconds

// TokenFor returns a bearer token for the ServiceAccount namespace/name,
// minted with the TokenRequest API (as a kubelet does for a pod's projected
// token), valid for 24 hours, audience the apiserver's own. It creates the
// ServiceAccount when it does not exist; the namespace must exist. The
// account has only the rights RBAC grants it: none until the test binds a
// Role.
func (cp *ControlPlane) TokenFor(ctx context.Context, namespace, name string) (string, error) {
	sas := cp.clientset.CoreV1().ServiceAccounts(namespace)
	_, err := sas.Create(ctx, &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("creating ServiceAccount %s/%s: %w", namespace, name, err)
	}
	expiration := int64(tokenLifetime)
	tr, err := sas.CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiration},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("requesting a token for ServiceAccount %s/%s: %w", namespace, name, err)
	}
	return tr.Status.Token, nil
}

// ConfigFor returns a configuration that authenticates as the ServiceAccount
// namespace/name with a token from TokenFor, so that code under test runs
// with that account's RBAC rights, as the submit worker or Flink's
// JobManager would in a cluster.
func (cp *ControlPlane) ConfigFor(ctx context.Context, namespace, name string) (*rest.Config, error) {
	token, err := cp.TokenFor(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	cfg := rest.AnonymousClientConfig(cp.config)
	cfg.BearerToken = token
	cfg.UserAgent = "kubetest-" + namespace + "-" + name
	return cfg, nil
}

// KubeconfigFor returns a kubeconfig that authenticates as the
// ServiceAccount namespace/name, for a separate process that must run with
// that account's rights.
func (cp *ControlPlane) KubeconfigFor(ctx context.Context, namespace, name string) ([]byte, error) {
	token, err := cp.TokenFor(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	user := "system:serviceaccount:" + namespace + ":" + name
	return kubeconfig(cp.host, cp.pki.caPEM, user, bearerToken(token)), nil
}
