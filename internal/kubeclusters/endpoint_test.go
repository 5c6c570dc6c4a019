package kubeclusters_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/messages"
)

// TestRestEndpointPerExposedType creates one REST Service per exposed
// type on the real API server, shaped as the submit worker deploys them
// (name <cluster-id>-rest, port "rest"), and resolves its REST endpoint.
func TestRestEndpointPerExposedType(t *testing.T) {
	cp := kubetest.Shared(t)
	cs := cp.Clientset()
	ctx := context.Background()
	ns := "endpoints"
	kubetest.CreateNamespace(t, cs, ns)
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "endpoint-node"}}
	node, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.1.2.3"}}
	if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	auto := &kubeclusters.Cluster{Config: kubeclusters.Config{Name: "c", RestAccess: kubeclusters.RestAccessAuto, APIServer: cp.Host()}, Kube: cs}
	proxy := &kubeclusters.Cluster{Config: kubeclusters.Config{Name: "c", RestAccess: kubeclusters.RestAccessProxy, APIServer: cp.Host()}, Kube: cs}

	deploy := func(id string, typ messages.RestExposedType) messages.JobRef {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: kubeclusters.RestServiceName(id), Namespace: ns},
			Spec: corev1.ServiceSpec{
				Type:     corev1.ServiceType(typ),
				Selector: map[string]string{"app": id, "component": "jobmanager", "type": "flink-native-kubernetes"},
				Ports: []corev1.ServicePort{{
					Name: "rest", Port: kubeclusters.RestPort, TargetPort: intstr.FromInt32(kubeclusters.RestPort), Protocol: corev1.ProtocolTCP,
				}},
			},
		}
		if _, err := cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		return messages.JobRef{Namespace: ns, ClusterID: id}
	}
	resolve := func(cl *kubeclusters.Cluster, job messages.JobRef, typ messages.RestExposedType) string {
		got, err := kubeclusters.RestEndpoint(ctx, cl, job, typ)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	cip := deploy("cip", messages.RestClusterIP)
	if got, want := resolve(auto, cip, messages.RestClusterIP), "http://cip-rest.endpoints:8081"; got != want {
		t.Errorf("ClusterIP: %s, want %s", got, want)
	}
	np := deploy("np", messages.RestNodePort)
	svc, _ := cs.CoreV1().Services(ns).Get(ctx, "np-rest", metav1.GetOptions{})
	if got := resolve(auto, np, messages.RestNodePort); !strings.HasPrefix(got, "http://10.1.2.3:") || svc.Spec.Ports[0].NodePort == 0 || !strings.HasSuffix(got, ":"+strconv.Itoa(int(svc.Spec.Ports[0].NodePort))) {
		t.Errorf("NodePort: %s, want the node address and node port %d", got, svc.Spec.Ports[0].NodePort)
	}
	lb := deploy("lb", messages.RestLoadBalancer)
	if got, want := resolve(auto, lb, messages.RestLoadBalancer), "http://lb-rest.endpoints:8081"; got != want {
		t.Errorf("LoadBalancer without ingress yet: %s, want the DNS fallback %s", got, want)
	}
	if err := kubetest.SetLoadBalancerIngress(ctx, cs, ns, "lb-rest", "203.0.113.7"); err != nil {
		t.Fatal(err)
	}
	if got, want := resolve(auto, lb, messages.RestLoadBalancer), "http://203.0.113.7:8081"; got != want {
		t.Errorf("LoadBalancer: %s, want %s", got, want)
	}
	if got, want := resolve(proxy, np, messages.RestNodePort), cp.Host()+"/api/v1/namespaces/endpoints/services/np-rest:rest/proxy"; got != want {
		t.Errorf("service proxy: %s, want %s", got, want)
	}
}
