package kubetest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/flinkferry/flinkferry/internal/kubetest"
)

// gcTimeout bounds how long the garbage collector may take. It needs its
// informers for every resource synced first, then acts within a second.
const gcTimeout = 60 * time.Second

// TestControllerManager runs the controllers flinkferry relies on in a
// cluster against one control plane.
func TestControllerManager(t *testing.T) {
	cp := kubetest.Start(t, kubetest.Options{ControllerManager: true})
	cs := cp.Clientset()
	t.Run("GarbageCollection", func(t *testing.T) { testGarbageCollection(t, cs) })
	t.Run("DefaultServiceAccountAndPods", func(t *testing.T) { testDefaultServiceAccountAndPods(t, cs) })
}

// testGarbageCollection owns a ConfigMap and a Service by the JobManager
// Deployment, as Flink does, deletes the Deployment, and waits for the
// garbage collector to delete them (and the ReplicaSet the Deployment
// controller made).
func testGarbageCollection(t *testing.T, cs kubernetes.Interface) {
	for _, policy := range []metav1.DeletionPropagation{metav1.DeletePropagationBackground, metav1.DeletePropagationForeground} {
		t.Run(string(policy), func(t *testing.T) {
			ctx := t.Context()
			ns := newNamespace(t, cs, "gc")
			job := newJobManager(ns, "job")
			opts := metav1.ApplyOptions{FieldManager: fieldManager, Force: true}
			d, err := cs.AppsV1().Deployments(ns).Apply(ctx, job.deployment, opts)
			if err != nil {
				t.Fatalf("applying the Deployment: %v", err)
			}
			owner := metav1ac.OwnerReference().
				WithAPIVersion("apps/v1").WithKind("Deployment").WithName(d.Name).WithUID(d.UID).
				WithController(true).WithBlockOwnerDeletion(true)
			if _, err := cs.CoreV1().ConfigMaps(ns).Apply(ctx, job.configMap.WithOwnerReferences(owner), opts); err != nil {
				t.Fatalf("applying the ConfigMap: %v", err)
			}
			if _, err := cs.CoreV1().Services(ns).Apply(ctx, job.service.WithOwnerReferences(owner), opts); err != nil {
				t.Fatalf("applying the Service: %v", err)
			}

			// The Deployment controller runs: it makes a ReplicaSet.
			var rsName string
			eventually(t, 30*time.Second, "a ReplicaSet for the Deployment", func(ctx context.Context) error {
				list, err := cs.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
				if err != nil {
					return err
				}
				for _, rs := range list.Items {
					if ref := metav1.GetControllerOf(&rs); ref != nil && ref.UID == d.UID {
						rsName = rs.Name
						return nil
					}
				}
				return fmt.Errorf("none among %d ReplicaSets", len(list.Items))
			})

			if err := cs.AppsV1().Deployments(ns).Delete(ctx, d.Name, metav1.DeleteOptions{PropagationPolicy: &policy}); err != nil {
				t.Fatalf("deleting the Deployment: %v", err)
			}
			eventually(t, gcTimeout, "garbage collection", func(ctx context.Context) error {
				return allGone(ctx, cs, ns, d.Name, rsName, *job.configMap.Name, *job.service.Name)
			})
		})
	}
}

// allGone returns an error naming the first of the objects that still exists.
func allGone(ctx context.Context, cs kubernetes.Interface, ns, deployment, replicaSet, configMap, service string) error {
	checks := []struct {
		what string
		get  func() error
	}{
		{"Deployment " + deployment, func() error {
			_, err := cs.AppsV1().Deployments(ns).Get(ctx, deployment, metav1.GetOptions{})
			return err
		}},
		{"ReplicaSet " + replicaSet, func() error {
			_, err := cs.AppsV1().ReplicaSets(ns).Get(ctx, replicaSet, metav1.GetOptions{})
			return err
		}},
		{"ConfigMap " + configMap, func() error {
			_, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, configMap, metav1.GetOptions{})
			return err
		}},
		{"Service " + service, func() error {
			_, err := cs.CoreV1().Services(ns).Get(ctx, service, metav1.GetOptions{})
			return err
		}},
	}
	for _, c := range checks {
		switch err := c.get(); {
		case apierrors.IsNotFound(err):
		case err != nil:
			return err
		default:
			return fmt.Errorf("%s still exists", c.what)
		}
	}
	return nil
}

// testDefaultServiceAccountAndPods checks that the serviceaccount controller
// makes the "default" ServiceAccount, without which no pod is admitted, and
// that the Deployment and ReplicaSet controllers make pods.
func testDefaultServiceAccountAndPods(t *testing.T, cs kubernetes.Interface) {
	ns := newNamespace(t, cs, "sa")
	eventually(t, 30*time.Second, "the default ServiceAccount", func(ctx context.Context) error {
		_, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err
	})
	eventually(t, 30*time.Second, "pods of the Deployment", func(ctx context.Context) error {
		d, err := cs.AppsV1().Deployments(ns).Apply(ctx, newJobManager(ns, "job").deployment, metav1.ApplyOptions{FieldManager: fieldManager, Force: true})
		if err != nil {
			return err
		}
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: metav1.FormatLabelSelector(d.Spec.Selector)})
		if err != nil {
			return err
		}
		if len(pods.Items) != 1 {
			return fmt.Errorf("%d pods, want 1", len(pods.Items))
		}
		if rs := metav1.GetControllerOf(&pods.Items[0]); rs == nil || rs.Kind != "ReplicaSet" {
			return fmt.Errorf("pod controller = %v, want a ReplicaSet", rs)
		}
		return nil
	})
}
