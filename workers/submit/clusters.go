package submit

import (
	"fmt"

	"github.com/flinkferry/flinkferry/internal/kubeclusters"
)

// clusters returns the configured clusters: those of ClustersFile, or the
// single default cluster of the KUBECONFIG and ALLOWED_* variables.
func (c SubmitConfig) clusters() ([]kubeclusters.Config, error) {
	if c.ClustersFile == "" {
		return kubeclusters.Single(c.Kubeconfig, c.RestAccess, c.AllowedNamespaces, c.AllowedServiceAccounts), nil
	}
	cfgs, err := kubeclusters.Load(c.ClustersFile)
	if err != nil {
		return cfgs, fmt.Errorf("submit: CLUSTERS_FILE: %w", err)
	}
	return cfgs, nil
}
