package submit

import (
	"errors"
	"fmt"

	"github.com/flinkferry/flinkferry/internal/kubeclusters"
)

// clusters returns the configured clusters: those of ClustersFile, or the
// single default cluster of the KUBECONFIG, ALLOWED_* and INGRESS_*
// variables.
func (c SubmitConfig) clusters() ([]kubeclusters.Config, error) {
	cfgs, err := c.PolicyVars.Clusters("submit", c.Kubeconfig, c.RestAccess)
	if c.ClustersFile != "" {
		if c.IngressVars.set() {
			err = errors.Join(err, errors.New("submit: INGRESS_* apply to the default cluster without CLUSTERS_FILE; set ingress per cluster in the file"))
		}
		return cfgs, err
	}
	if len(cfgs) == 1 {
		if t := c.IngressVars.template(); t != nil {
			if verr := t.Validate(cfgs[0].Name); verr != nil {
				err = errors.Join(err, fmt.Errorf("submit: INGRESS_*: %w", verr))
			}
			cfgs[0].Ingress = t
		} else if c.IngressVars.set() {
			err = errors.Join(err, errors.New("submit: INGRESS_HOST is required when another INGRESS_* variable is set"))
		}
	}
	return cfgs, err
}
