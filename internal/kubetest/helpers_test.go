package kubetest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/flinkferry/flinkferry/internal/kubetest"
)

func TestMain(m *testing.M) { kubetest.Main(m) }

// fieldManager is the field manager flinkferry applies with.
const fieldManager = "flinkferry"

// newNamespace creates a namespace with a generated name starting with
// prefix, so that tests sharing a control plane do not meet.
func newNamespace(t *testing.T, cs kubernetes.Interface, prefix string) string {
	t.Helper()
	ns, err := cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating a namespace: %v", err)
	}
	return ns.Name
}

// jobManager describes the objects flinkferry applies for one Flink job
// cluster: the JobManager Deployment, its configuration and its REST Service.
type jobManager struct {
	deployment *appsv1ac.DeploymentApplyConfiguration
	configMap  *corev1ac.ConfigMapApplyConfiguration
	service    *corev1ac.ServiceApplyConfiguration
}

func newJobManager(namespace, name string) jobManager {
	labels := map[string]string{
		"app":                          name,
		"component":                    "jobmanager",
		"type":                         "flink-native-kubernetes",
		"app.kubernetes.io/managed-by": "flinkferry",
	}
	return jobManager{
		deployment: appsv1ac.Deployment(name, namespace).
			WithLabels(labels).
			WithSpec(appsv1ac.DeploymentSpec().
				WithReplicas(1).
				WithSelector(metav1ac.LabelSelector().WithMatchLabels(labels)).
				WithTemplate(corev1ac.PodTemplateSpec().
					WithLabels(labels).
					WithSpec(corev1ac.PodSpec().
						WithContainers(corev1ac.Container().
							WithName("flink-main-container").
							WithImage("registry.example/flink-job@sha256:" + zeros64).
							WithArgs("jobmanager").
							WithPorts(corev1ac.ContainerPort().WithName("rest").WithContainerPort(8081)))))),
		configMap: corev1ac.ConfigMap("flink-config-"+name, namespace).
			WithLabels(labels).
			WithData(map[string]string{"config.yaml": "jobmanager.rpc.port: 6123\n"}),
		service: corev1ac.Service(name+"-rest", namespace).
			WithLabels(labels).
			WithSpec(corev1ac.ServiceSpec().
				WithType(corev1.ServiceTypeClusterIP).
				WithSelector(labels).
				WithPorts(corev1ac.ServicePort().WithName("rest").WithPort(8081).WithTargetPort(intstr.FromInt32(8081)))),
	}
}

const zeros64 = "0000000000000000000000000000000000000000000000000000000000000000"

// apply server-side applies every object with flinkferry's field manager and
// returns each error.
func (j jobManager) apply(ctx context.Context, cs kubernetes.Interface) []error {
	opts := metav1.ApplyOptions{FieldManager: fieldManager, Force: true}
	ns := *j.deployment.Namespace
	_, errD := cs.AppsV1().Deployments(ns).Apply(ctx, j.deployment, opts)
	_, errC := cs.CoreV1().ConfigMaps(ns).Apply(ctx, j.configMap, opts)
	_, errS := cs.CoreV1().Services(ns).Apply(ctx, j.service, opts)
	return []error{errD, errC, errS}
}

// eventually polls cond every 100 ms until it returns nil, and fails t with
// its last error after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond(ctx)
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not within %s: %v", what, timeout, errors.Join(err, context.Cause(ctx)))
		case <-tick.C:
		}
	}
}
