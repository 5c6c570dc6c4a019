package submit

import (
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
)

// clusters returns the configured clusters: those of ClustersFile, or the
// single default cluster of the KUBECONFIG and ALLOWED_* variables.
func (c SubmitConfig) clusters() ([]kubeclusters.Config, error) {
	return c.PolicyVars.Clusters("submit", c.Kubeconfig, c.RestAccess)
}
