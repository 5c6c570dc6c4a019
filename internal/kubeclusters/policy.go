package kubeclusters

import (
	"fmt"

	"github.com/flinkferry/flinkferry/internal/admission"
)

// Policy returns what the cluster allows, for package admission.
func (c Config) Policy() admission.Policy {
	p := admission.Policy{
		Cluster: c.Name, Default: c.Default,
		AllowedNamespaces: c.AllowedNamespaces, AllowedServiceAccounts: c.AllowedServiceAccounts,
		PodSecurity: admission.Level(c.PodSecurity),
	}
	if len(c.NamespacePodSecurity) > 0 {
		p.NamespacePodSecurity = make(map[string]admission.Level, len(c.NamespacePodSecurity))
		for ns, l := range c.NamespacePodSecurity {
			p.NamespacePodSecurity[ns] = admission.Level(l)
		}
	}
	return p
}

// NewAdmitter returns the admitter of the clusters.
func NewAdmitter(cfgs []Config) (*admission.Admitter, error) {
	ps := make([]admission.Policy, len(cfgs))
	for i, c := range cfgs {
		ps[i] = c.Policy()
	}
	return admission.New(ps...)
}

// Admitter returns the admitter of the set's clusters.
func (cs *Set) Admitter() (*admission.Admitter, error) {
	cfgs := make([]Config, 0, len(cs.names))
	for _, cl := range cs.All() {
		cfgs = append(cfgs, cl.Config)
	}
	return NewAdmitter(cfgs)
}

// PolicyVars are the variables that say where jobs may run when a worker
// has no clusters file: embedded (anonymously) in the build and submit
// workers' configurations, so both read the same FLINKFERRY_<WORKER>_*
// names and admit requests with the same policy.
type PolicyVars struct {
	// ClustersFile lists several clusters with their own policies; it
	// replaces the variables below.
	ClustersFile string `envconfig:"CLUSTERS_FILE" desc:"YAML file listing several Kubernetes clusters (name, kubeconfig, context, allowedNamespaces, allowedServiceAccounts, podSecurity, namespacePodSecurity, default, restAccess, ingress); replaces KUBECONFIG, ALLOWED_* and *POD_SECURITY"`
	// AllowedNamespaces and AllowedServiceAccounts are allow-lists; a
	// request outside them is refused.
	AllowedNamespaces      []string `envconfig:"ALLOWED_NAMESPACES" desc:"namespaces jobs may be deployed to (required without CLUSTERS_FILE; * allows all)"`
	AllowedServiceAccounts []string `envconfig:"ALLOWED_SERVICE_ACCOUNTS" default:"default" desc:"service accounts Flink's pods may run as, in any field or option that names one (* allows all)"`
	// PodSecurity and NamespacePodSecurity are the Pod Security Standards
	// levels Flink's pods must meet (package admission).
	PodSecurity          string            `envconfig:"POD_SECURITY" default:"baseline" desc:"Pod Security Standards level Flink's pods must meet: privileged, baseline or restricted"`
	NamespacePodSecurity map[string]string `envconfig:"NAMESPACE_POD_SECURITY" desc:"per-namespace levels overriding POD_SECURITY, namespace:level pairs separated by commas"`
	// SavepointDirs allow-lists the savepoint locations a submit request
	// may name (admission.WithSavepointDirs); the track worker's
	// SAVEPOINT_DIRS, so one list holds for requests and control requests.
	SavepointDirs []string `envconfig:"SAVEPOINT_DIRS" desc:"allow-list of URI prefixes a request may restore from or write savepoints to (program.savepoint.path, savepoints.directory, -Dstate.savepoints.dir and the other savepoint options); set it to FLINKFERRY_TRACK_SAVEPOINT_DIRS; empty allows any"`
}

// Clusters returns the clusters of ClustersFile, or the one default
// cluster of the variables (with kubeconfig and restAccess, which only the
// workers that connect use). what names the worker in errors.
func (v PolicyVars) Clusters(what, kubeconfig, restAccess string) ([]Config, error) {
	if v.ClustersFile != "" {
		cfgs, err := Load(v.ClustersFile)
		if err != nil {
			return cfgs, fmt.Errorf("%s: CLUSTERS_FILE: %w", what, err)
		}
		return cfgs, nil
	}
	if len(v.AllowedNamespaces) == 0 {
		return nil, fmt.Errorf("%s: ALLOWED_NAMESPACES is required (a list, or * for all) without CLUSTERS_FILE", what)
	}
	cfgs := Single(kubeconfig, restAccess, v.AllowedNamespaces, v.AllowedServiceAccounts)
	cfgs[0].PodSecurity, cfgs[0].NamespacePodSecurity = v.PodSecurity, v.NamespacePodSecurity
	if err := cfgs[0].Policy().Validate(); err != nil {
		return cfgs, fmt.Errorf("%s: POD_SECURITY: %w", what, err)
	}
	return cfgs, nil
}
