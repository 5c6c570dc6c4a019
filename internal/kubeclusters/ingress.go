package kubeclusters

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/flinkferry/flinkferry/messages"
)

// Placeholders of an Ingress template's host, path and TLS secret.
const (
	PlaceholderClusterID   = "{cluster_id}"
	PlaceholderNamespace   = "{namespace}"
	PlaceholderKubeCluster = "{kube_cluster}"
)

// Ingress is the template of the optional Ingress the submit worker
// creates per Flink cluster, so people reach its Web UI from outside. The
// operator sets it per Kubernetes cluster; no request field changes it.
type Ingress struct {
	// Host is the rule's host, e.g. "{cluster_id}.{namespace}.flink.example.com".
	Host string `json:"host"`
	// Path is the rule's path prefix (default "/"), e.g. "/{namespace}/{cluster_id}/".
	Path string `json:"path,omitempty"`
	// ClassName is the IngressClass (empty: the cluster's default class).
	ClassName string `json:"className,omitempty"`
	// Annotations are set as given (no placeholders: controllers'
	// snippets use braces of their own).
	Annotations map[string]string `json:"annotations,omitempty"`
	// TLSSecret names the Secret with the host's certificate; set, the
	// Ingress terminates TLS and the URL is https.
	TLSSecret string `json:"tlsSecret,omitempty"`
}

// RenderedIngress is a template filled in for one job.
type RenderedIngress struct {
	Host, Path, TLSSecret string
	// URL is the Web UI as people reach it: scheme, host and path, ending in "/".
	URL string
}

var placeholderRE = regexp.MustCompile(`\{[^{}]*\}`)

// knownPlaceholders lists what a pattern may contain.
var knownPlaceholders = map[string]bool{PlaceholderClusterID: true, PlaceholderNamespace: true, PlaceholderKubeCluster: true}

// Validate reports every problem of the template of cluster kubeCluster at
// once: unknown placeholders, a host or TLS secret that is not a DNS name
// once filled in with short sample ids, a path that is not absolute, an
// invalid class or annotation name.
func (in *Ingress) Validate(kubeCluster string) error {
	var errs []error
	if in.Host == "" {
		errs = append(errs, errors.New("ingress host is required"))
	}
	for _, f := range []struct{ name, v string }{{"host", in.Host}, {"path", in.Path}, {"tlsSecret", in.TLSSecret}} {
		for _, p := range placeholderRE.FindAllString(f.v, -1) {
			if !knownPlaceholders[p] {
				errs = append(errs, fmt.Errorf("ingress %s %q: unknown placeholder %s (known: {cluster_id}, {namespace}, {kube_cluster})", f.name, f.v, p))
			}
		}
	}
	if len(errs) == 0 {
		// The shortest ids a job can have: a pattern that fails with them
		// fails for every job.
		if _, err := in.Render(messages.JobRef{Namespace: "n", ClusterID: "c"}, kubeCluster); err != nil {
			errs = append(errs, err)
		}
	}
	if in.ClassName != "" {
		for _, m := range validation.IsDNS1123Subdomain(in.ClassName) {
			errs = append(errs, fmt.Errorf("ingress className %q: %s", in.ClassName, m))
		}
	}
	for k := range in.Annotations {
		for _, m := range validation.IsQualifiedName(strings.ToLower(k)) {
			errs = append(errs, fmt.Errorf("ingress annotation %q: %s", k, m))
		}
	}
	return errors.Join(errs...)
}

// Render fills the template in for job on cluster kubeCluster (the
// configured cluster's name). A host that is not a DNS name for this job
// (too long a label, say) is an error: nothing must be applied for it.
func (in *Ingress) Render(job messages.JobRef, kubeCluster string) (RenderedIngress, error) {
	r := strings.NewReplacer(PlaceholderClusterID, job.ClusterID, PlaceholderNamespace, job.Namespace, PlaceholderKubeCluster, kubeCluster)
	out := RenderedIngress{Host: r.Replace(in.Host), Path: r.Replace(in.Path), TLSSecret: r.Replace(in.TLSSecret)}
	if out.Path == "" {
		out.Path = "/"
	}
	var errs []error
	errs = append(errs, dnsName(out.Host)...)
	if !strings.HasPrefix(out.Path, "/") || strings.ContainsAny(out.Path, " \t\n?#{}") {
		errs = append(errs, fmt.Errorf("ingress path %q must be an absolute path without spaces, ? or #", out.Path))
	}
	if out.TLSSecret != "" {
		for _, m := range validation.IsDNS1123Subdomain(out.TLSSecret) {
			errs = append(errs, fmt.Errorf("ingress tlsSecret %q: %s", out.TLSSecret, m))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return RenderedIngress{}, err
	}
	scheme := "http"
	if out.TLSSecret != "" {
		scheme = "https"
	}
	out.URL = scheme + "://" + out.Host + out.Path
	if !strings.HasSuffix(out.URL, "/") {
		out.URL += "/"
	}
	return out, nil
}

// dnsName checks a host name: a DNS subdomain whose every label is a DNS
// label (at most 63 characters, which the API server does not check).
func dnsName(host string) []error {
	var errs []error
	msgs := validation.IsDNS1123Subdomain(host)
	if len(msgs) == 0 {
		for _, l := range strings.Split(host, ".") {
			msgs = append(msgs, validation.IsDNS1123Label(l)...)
		}
	}
	for _, m := range msgs {
		errs = append(errs, fmt.Errorf("ingress host %q: %s", host, m))
	}
	return errs
}
