package submit

import (
	"context"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/internal/worker"
)

// Run runs the submit worker until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	return worker.Run(ctx, Spec(cfg, nil))
}

// Overrides replace the submit worker's peers (tests, dev mode); nil
// fields keep the ones made from the configuration.
type Overrides struct {
	// Clusters replaces the clusters connected from the configuration.
	Clusters *kubeclusters.Set
	// SessionEndpoint, Jars and Flink replace the Handler's defaults.
	SessionEndpoint SessionEndpointFunc
	Jars            JarSource
	Flink           SessionREST
}

// Spec returns the worker specification. clusters overrides the clusters
// connected from the configuration (tests, dev mode).
func Spec(cfg Config, clusters *kubeclusters.Set) worker.Spec {
	return SpecWith(cfg, Overrides{Clusters: clusters})
}

// SpecWith returns the worker specification with some peers replaced.
func SpecWith(cfg Config, o Overrides) worker.Spec {
	return worker.Spec{
		Name:   "submit",
		Common: cfg.Common,
		Setup: func(ctx context.Context, d worker.Deps) ([]func(context.Context) error, error) {
			cs := o.Clusters
			if cs == nil {
				cfgs, err := cfg.Submit.clusters()
				if err != nil {
					return nil, err
				}
				if cs, err = kubeclusters.Connect(cfgs, cfg.Submit.KubeQPS, cfg.Submit.KubeBurst); err != nil {
					return nil, err
				}
			}
			h := &Handler{
				Clusters: cs, Topics: d.Topics, Config: cfg.Submit,
				SessionEndpoint: o.SessionEndpoint, Jars: o.Jars, Flink: o.Flink,
			}
			if h.Jars == nil {
				h.Jars = NewRegistryJars(cfg.Submit)
			}
			return nil, bus.HandleGivingUp(d.Router, "submit", d.Topics.ImageBuilt, h.Handle, h.GiveUp)
		},
	}
}
