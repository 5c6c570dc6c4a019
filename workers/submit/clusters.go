package submit

import (
	"fmt"

	"github.com/flinkferry/flinkferry/internal/kubeclusters"
)

// The submit worker's clusters are those of package kubeclusters, which
// the track worker shares.
type (
	// ClusterConfig describes one Kubernetes cluster jobs can be deployed to.
	ClusterConfig = kubeclusters.Config
	// ClustersFile is the file FLINKFERRY_SUBMIT_CLUSTERS_FILE points to.
	ClustersFile = kubeclusters.File
	// Cluster is a connected Kubernetes cluster.
	Cluster = kubeclusters.Cluster
	// Clusters resolves a request's kube_cluster to a connected cluster.
	Clusters = kubeclusters.Set
)

// NewClusters connects to every configured cluster, at most qps requests
// per second (burst) to each.
func NewClusters(cfgs []ClusterConfig, qps float32, burst int) (*Clusters, error) {
	return kubeclusters.Connect(cfgs, qps, burst)
}

// clusters returns the configured clusters: those of ClustersFile, or the
// single default cluster of the KUBECONFIG and ALLOWED_* variables.
func (c SubmitConfig) clusters() ([]ClusterConfig, error) {
	if c.ClustersFile == "" {
		return kubeclusters.Single(c.Kubeconfig, c.RestAccess, c.AllowedNamespaces, c.AllowedServiceAccounts), nil
	}
	cfgs, err := kubeclusters.Load(c.ClustersFile)
	if err != nil {
		return cfgs, fmt.Errorf("submit: CLUSTERS_FILE: %w", err)
	}
	return cfgs, nil
}
