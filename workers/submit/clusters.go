package submit

import (
	"errors"
	"fmt"
	"os"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/messages"
)

// ClusterConfig describes one Kubernetes cluster jobs can be deployed to.
type ClusterConfig struct {
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
	// APIServer is the API server's URL (filled in from the kubeconfig).
	APIServer string `json:"-"`
}

// ClustersFile is the file FLINKFERRY_SUBMIT_CLUSTERS_FILE points to.
type ClustersFile struct {
	Clusters []ClusterConfig `json:"clusters"`
}

// clusters returns the configured clusters: those of ClustersFile, or the
// single default cluster of the KUBECONFIG and ALLOWED_* variables.
func (c SubmitConfig) clusters() ([]ClusterConfig, error) {
	if c.ClustersFile == "" {
		access := c.RestAccess
		if access == "" {
			access = RestAccessAuto
		}
		return []ClusterConfig{{
			Name: "default", Kubeconfig: c.Kubeconfig, Default: true, RestAccess: access,
			AllowedNamespaces: c.AllowedNamespaces, AllowedServiceAccounts: c.AllowedServiceAccounts,
		}}, nil
	}
	b, err := os.ReadFile(c.ClustersFile)
	if err != nil {
		return nil, fmt.Errorf("submit: reading CLUSTERS_FILE: %w", err)
	}
	var f ClustersFile
	if err := yaml.UnmarshalStrict(b, &f); err != nil {
		return nil, fmt.Errorf("submit: CLUSTERS_FILE %s: %w", c.ClustersFile, err)
	}
	var errs []error
	names := map[string]bool{}
	defaults := 0
	for i, cl := range f.Clusters {
		switch {
		case cl.Name == "":
			errs = append(errs, fmt.Errorf("submit: clusters[%d]: name is required", i))
		case names[cl.Name]:
			errs = append(errs, fmt.Errorf("submit: clusters[%d]: name %q is used twice", i, cl.Name))
		}
		names[cl.Name] = true
		if len(cl.AllowedNamespaces) == 0 {
			errs = append(errs, fmt.Errorf("submit: clusters[%d] (%s): allowedNamespaces is required", i, cl.Name))
		}
		if len(cl.AllowedServiceAccounts) == 0 {
			f.Clusters[i].AllowedServiceAccounts = []string{"default"}
		}
		if cl.Default {
			defaults++
		}
		switch cl.RestAccess {
		case "":
			f.Clusters[i].RestAccess = RestAccessAuto
		case RestAccessAuto, RestAccessProxy:
		default:
			errs = append(errs, fmt.Errorf("submit: clusters[%d] (%s): restAccess %q is not auto or service-proxy", i, cl.Name, cl.RestAccess))
		}
	}
	if len(f.Clusters) == 0 {
		errs = append(errs, errors.New("submit: CLUSTERS_FILE lists no cluster"))
	}
	if defaults > 1 {
		errs = append(errs, errors.New("submit: more than one cluster is marked default"))
	}
	if len(f.Clusters) == 1 {
		f.Clusters[0].Default = true
	}
	return f.Clusters, errors.Join(errs...)
}

// Cluster is a connected Kubernetes cluster.
type Cluster struct {
	ClusterConfig
	Kube kubernetes.Interface
}

// Clusters resolves a request's kube_cluster to a connected cluster.
type Clusters struct {
	byName map[string]*Cluster
	def    *Cluster
}

// NewClusters connects to every configured cluster, at most qps requests
// per second (burst) to each.
func NewClusters(cfgs []ClusterConfig, qps float32, burst int) (*Clusters, error) {
	cs := &Clusters{byName: map[string]*Cluster{}}
	for _, c := range cfgs {
		rc, err := restConfigFor(c)
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
func (cs *Clusters) Add(c ClusterConfig, kube kubernetes.Interface) {
	if cs.byName == nil {
		cs.byName = map[string]*Cluster{}
	}
	cl := &Cluster{ClusterConfig: c, Kube: kube}
	cs.byName[c.Name] = cl
	if c.Default {
		cs.def = cl
	}
}

// For returns the cluster a job goes to; an unknown name is permanent.
func (cs *Clusters) For(job messages.JobRef) (*Cluster, error) {
	if job.KubeCluster == "" {
		if cs.def == nil {
			return nil, bus.Permanentf(messages.DeployReasonUnknownKubeCluster, "job.kube_cluster is empty and no cluster is the default")
		}
		return cs.def, nil
	}
	cl, ok := cs.byName[job.KubeCluster]
	if !ok {
		return nil, bus.Permanentf(messages.DeployReasonUnknownKubeCluster, "Kubernetes cluster %q is not configured", job.KubeCluster)
	}
	return cl, nil
}

func restConfigFor(c ClusterConfig) (*rest.Config, error) {
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
