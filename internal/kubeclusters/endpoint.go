package kubeclusters

import (
	"context"
	"fmt"
	"net"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flinkferry/flinkferry/messages"
)

// RestPort is the port of Flink's REST API (rest.port).
const RestPort = 8081

// RestServiceName is the name of the Service Flink creates for a
// cluster's REST API.
func RestServiceName(clusterID string) string { return clusterID + "-rest" }

// RestEndpoint returns the base URL of the cluster's REST API (and Web UI)
// as seen by the workers. A LoadBalancer without an ingress address yet
// falls back to the cluster DNS name.
func RestEndpoint(ctx context.Context, cl *Cluster, job messages.JobRef, exposed messages.RestExposedType) (string, error) {
	svc := RestServiceName(job.ClusterID)
	dns := fmt.Sprintf("http://%s.%s:%d", svc, job.Namespace, RestPort)
	if cl.RestAccess == RestAccessProxy {
		return fmt.Sprintf("%s/api/v1/namespaces/%s/services/%s:rest/proxy", cl.APIServer, job.Namespace, svc), nil
	}
	switch exposed {
	case messages.RestNodePort:
		s, err := cl.Kube.CoreV1().Services(job.Namespace).Get(ctx, svc, metav1.GetOptions{})
		if err != nil {
			return "", fmt.Errorf("reading Service %s/%s: %w", job.Namespace, svc, err)
		}
		var port int32
		for _, p := range s.Spec.Ports {
			if p.Name == "rest" {
				port = p.NodePort
			}
		}
		node, err := nodeAddress(ctx, cl)
		if err != nil || port == 0 {
			return dns, err
		}
		return "http://" + net.JoinHostPort(node, strconv.Itoa(int(port))), nil
	case messages.RestLoadBalancer:
		s, err := cl.Kube.CoreV1().Services(job.Namespace).Get(ctx, svc, metav1.GetOptions{})
		if err != nil {
			return "", fmt.Errorf("reading Service %s/%s: %w", job.Namespace, svc, err)
		}
		for _, in := range s.Status.LoadBalancer.Ingress {
			host := in.IP
			if host == "" {
				host = in.Hostname
			}
			if host != "" {
				return "http://" + net.JoinHostPort(host, strconv.Itoa(RestPort)), nil
			}
		}
	}
	return dns, nil
}

// nodeAddress returns the address of a ready node (ExternalIP before
// InternalIP), or "" when the cluster lists none.
func nodeAddress(ctx context.Context, cl *Cluster) (string, error) {
	nodes, err := cl.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{Limit: 50})
	if err != nil {
		return "", fmt.Errorf("listing nodes: %w", err)
	}
	for _, want := range []corev1.NodeAddressType{corev1.NodeExternalIP, corev1.NodeInternalIP} {
		for _, n := range nodes.Items {
			for _, a := range n.Status.Addresses {
				if a.Type == want && a.Address != "" {
					return a.Address, nil
				}
			}
		}
	}
	return "", nil
}
