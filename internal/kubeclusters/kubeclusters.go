package kubeclusters

import (
	"errors"
	"fmt"
	"os"
	"slices"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/messages"
)

// How the workers reach a JobManager's REST endpoint (Config.RestAccess).
const (
	// RestAccessAuto follows the exposed type: cluster DNS for ClusterIP
	// (workers inside the cluster), a node address and the node port for
	// NodePort, the ingress address for LoadBalancer.
	RestAccessAuto = "auto"
	// RestAccessProxy goes through the API server's service proxy, which
	// works from outside the cluster for any exposed type (RBAC: get on
	// services/proxy).
	RestAccessProxy = "service-proxy"
)

// Config describes one Kubernetes cluster jobs can run on.
type Config struct {
	// Name is what requests put in job.kube_cluster.
	Name string `json:"name"`
	// Kubeconfig is a kubeconfig file; empty means in-cluster.
	Kubeconfig string `json:"kubeconfig,omitempty"`
	// Context selects a kubeconfig context (empty: the current one).
	Context string `json:"context,omitempty"`
	// AllowedNamespaces and AllowedServiceAccounts are the allow-lists
	// ("*" allows all).
	AllowedNamespaces      []string `json:"allowedNamespaces"`
	AllowedServiceAccounts []string `json:"allowedServiceAccounts,omitempty"`
	// Default marks the cluster used when a request names none.
	Default bool `json:"default,omitempty"`
	// RestAccess is how workers reach JobManagers: auto or service-proxy.
	RestAccess string `json:"restAccess,omitempty"`
	// PodSecurity is the Pod Security Standards level Flink's pods must
	// meet on this cluster: privileged, baseline (the default) or
	// restricted; NamespacePodSecurity overrides it per namespace.
	PodSecurity          string            `json:"podSecurity,omitempty"`
	NamespacePodSecurity map[string]string `json:"namespacePodSecurity,omitempty"`
	// Ingress, when set, is the template of the Ingress the submit worker
	// creates per Flink cluster for its Web UI (ingress.go).
	Ingress *Ingress `json:"ingress,omitempty"`
	// APIServer is the API server's URL (filled in from the kubeconfig).
	APIServer string `json:"-"`
}

// AllowsNamespace reports whether jobs may run in namespace ns.
func (c Config) AllowsNamespace(ns string) bool { return Allowed(c.AllowedNamespaces, ns) }

// AllowsServiceAccount reports whether a JobManager may run as sa.
func (c Config) AllowsServiceAccount(sa string) bool { return Allowed(c.AllowedServiceAccounts, sa) }

// Allowed reports whether v is in list (or list holds *).
func Allowed(list []string, v string) bool {
	return slices.Contains(list, "*") || slices.Contains(list, v)
}

// File is the clusters file (FLINKFERRY_SUBMIT_CLUSTERS_FILE,
// FLINKFERRY_TRACK_CLUSTERS_FILE).
type File struct {
	Clusters []Config `json:"clusters"`
}

// Single returns the one default cluster of a worker configured without a
// clusters file.
func Single(kubeconfig, restAccess string, namespaces, serviceAccounts []string) []Config {
	if restAccess == "" {
		restAccess = RestAccessAuto
	}
	return []Config{{
		Name: "default", Kubeconfig: kubeconfig, Default: true, RestAccess: restAccess,
		AllowedNamespaces: namespaces, AllowedServiceAccounts: serviceAccounts,
	}}
}

// Load reads and checks a clusters file, filling in defaults: a single
// cluster is the default, service accounts default to "default", access to
// auto. Every problem is reported at once.
func Load(path string) ([]Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading clusters file: %w", err)
	}
	var f File
	if err := yaml.UnmarshalStrict(b, &f); err != nil {
		return nil, fmt.Errorf("clusters file %s: %w", path, err)
	}
	var errs []error
	names := map[string]bool{}
	defaults := 0
	for i, cl := range f.Clusters {
		switch {
		case cl.Name == "":
			errs = append(errs, fmt.Errorf("clusters[%d]: name is required", i))
		case names[cl.Name]:
			errs = append(errs, fmt.Errorf("clusters[%d]: name %q is used twice", i, cl.Name))
		}
		names[cl.Name] = true
		if len(cl.AllowedNamespaces) == 0 {
			errs = append(errs, fmt.Errorf("clusters[%d] (%s): allowedNamespaces is required", i, cl.Name))
		}
		if len(cl.AllowedServiceAccounts) == 0 {
			f.Clusters[i].AllowedServiceAccounts = []string{"default"}
		}
		if cl.Default {
			defaults++
		}
		if err := cl.Policy().Validate(); err != nil {
			errs = append(errs, fmt.Errorf("clusters[%d] (%s): %w", i, cl.Name, err))
		}
		if cl.Ingress != nil {
			if err := cl.Ingress.Validate(cl.Name); err != nil {
				errs = append(errs, fmt.Errorf("clusters[%d] (%s): %w", i, cl.Name, err))
			}
		}
		switch cl.RestAccess {
		case "":
			f.Clusters[i].RestAccess = RestAccessAuto
		case RestAccessAuto, RestAccessProxy:
		default:
			errs = append(errs, fmt.Errorf("clusters[%d] (%s): restAccess %q is not auto or service-proxy", i, cl.Name, cl.RestAccess))
		}
	}
	if len(f.Clusters) == 0 {
		errs = append(errs, errors.New("clusters file lists no cluster"))
	}
	if defaults > 1 {
		errs = append(errs, errors.New("more than one cluster is marked default"))
	}
	if len(f.Clusters) == 1 {
		f.Clusters[0].Default = true
	}
	return f.Clusters, errors.Join(errs...)
}

// Cluster is a connected Kubernetes cluster.
type Cluster struct {
	Config
	Kube kubernetes.Interface
}

// Set resolves a job's kube_cluster to a connected cluster.
type Set struct {
	byName map[string]*Cluster
	names  []string
	def    *Cluster
}

// Connect connects to every configured cluster, at most qps requests per
// second (burst) to each.
func Connect(cfgs []Config, qps float32, burst int) (*Set, error) {
	cs := &Set{}
	for _, c := range cfgs {
		rc, err := RESTConfig(c)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", c.Name, err)
		}
		rc.QPS, rc.Burst = qps, burst
		kube, err := kubernetes.NewForConfig(rc)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", c.Name, err)
		}
		c.APIServer = rc.Host
		cs.Add(c, kube)
	}
	return cs, nil
}

// Add registers a cluster with an existing client (tests, dev mode).
func (cs *Set) Add(c Config, kube kubernetes.Interface) {
	if cs.byName == nil {
		cs.byName = map[string]*Cluster{}
	}
	cl := &Cluster{Config: c, Kube: kube}
	if _, ok := cs.byName[c.Name]; !ok {
		cs.names = append(cs.names, c.Name)
	}
	cs.byName[c.Name] = cl
	if c.Default {
		cs.def = cl
	}
}

// All returns the clusters in the order they were added.
func (cs *Set) All() []*Cluster {
	out := make([]*Cluster, 0, len(cs.names))
	for _, n := range cs.names {
		out = append(out, cs.byName[n])
	}
	return out
}

// For returns the cluster a job runs on; an unknown name is a permanent
// error (reason unknown_kube_cluster).
func (cs *Set) For(job messages.JobRef) (*Cluster, error) {
	if job.KubeCluster == "" {
		if cs.def == nil {
			return nil, failure.Permanentf(messages.DeployReasonUnknownKubeCluster, "job.kube_cluster is empty and no cluster is the default")
		}
		return cs.def, nil
	}
	cl, ok := cs.byName[job.KubeCluster]
	if !ok {
		return nil, failure.Permanentf(messages.DeployReasonUnknownKubeCluster, "Kubernetes cluster %q is not configured", job.KubeCluster)
	}
	return cl, nil
}

// RESTConfig returns the client configuration of c: its kubeconfig and
// context, or the in-cluster configuration.
func RESTConfig(c Config) (*rest.Config, error) {
	if c.Kubeconfig == "" {
		rc, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("no kubeconfig and not in a cluster: %w", err)
		}
		return rc, nil
	}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: c.Kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: c.Context},
	).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("reading kubeconfig %s: %w", c.Kubeconfig, err)
	}
	return rc, nil
}
