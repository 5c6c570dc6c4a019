package submit

import (
	networkingv1 "k8s.io/api/networking/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"

	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/messages"
)

// AnnotationWebUIURL on the JobManager Deployment is the Web UI Ingress's
// URL, so the track worker's recovery (after a Redis loss) restores the
// job's web_ui_url.
const AnnotationWebUIURL = "flinkferry.io/web-ui-url"

// IngressName is the name of a Flink cluster's Web UI Ingress: the
// cluster id, like its Deployment.
func IngressName(clusterID string) string { return clusterID }

// AddIngress adds the Web UI Ingress of template t, filled in for job on
// cluster kubeCluster, to the objects: one rule to the REST Service's port,
// TLS when t names a secret, labelled like the ConfigMaps and owned by the
// Deployment (Owned), so it goes with the cluster. It returns the Web UI
// URL, also annotated on the Deployment (AnnotationWebUIURL). A template that gives this job no valid host is a permanent
// failure (kubernetes_refused, what the API server would answer), found
// before anything is applied.
func (o *Objects) AddIngress(t *kubeclusters.Ingress, job messages.JobRef, kubeCluster string) (string, error) {
	r, err := t.Render(job, kubeCluster)
	if err != nil {
		return "", failure.Permanent(messages.DeployReasonKubernetesRefused, err)
	}
	labels := map[string]string{}
	for k, v := range o.ConfigMaps[0].Labels {
		labels[k] = v
	}
	backend := networkingv1ac.IngressBackend().WithService(networkingv1ac.IngressServiceBackend().
		WithName(kubeclusters.RestServiceName(job.ClusterID)).
		WithPort(networkingv1ac.ServiceBackendPort().WithNumber(kubeclusters.RestPort)))
	spec := networkingv1ac.IngressSpec().WithRules(networkingv1ac.IngressRule().
		WithHost(r.Host).
		WithHTTP(networkingv1ac.HTTPIngressRuleValue().WithPaths(networkingv1ac.HTTPIngressPath().
			WithPath(r.Path).WithPathType(networkingv1.PathTypePrefix).WithBackend(backend))))
	if t.ClassName != "" {
		spec.WithIngressClassName(t.ClassName)
	}
	if r.TLSSecret != "" {
		spec.WithTLS(networkingv1ac.IngressTLS().WithHosts(r.Host).WithSecretName(r.TLSSecret))
	}
	in := networkingv1ac.Ingress(IngressName(job.ClusterID), job.Namespace).WithLabels(labels).WithSpec(spec)
	if len(t.Annotations) > 0 {
		in.WithAnnotations(t.Annotations)
	}
	o.Ingress = in
	o.Deployment.WithAnnotations(map[string]string{AnnotationWebUIURL: r.URL})
	return r.URL, nil
}
