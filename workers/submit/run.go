package submit

import (
	"context"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/worker"
)

// Run runs the submit worker until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	return worker.Run(ctx, Spec(cfg, nil))
}

// Spec returns the worker specification. clusters overrides the clusters
// connected from the configuration (tests, dev mode).
func Spec(cfg Config, clusters *Clusters) worker.Spec {
	return worker.Spec{
		Name:   "submit",
		Common: cfg.Common,
		Setup: func(ctx context.Context, d worker.Deps) ([]func(context.Context) error, error) {
			cs := clusters
			if cs == nil {
				cfgs, err := cfg.Submit.clusters()
				if err != nil {
					return nil, err
				}
				if cs, err = NewClusters(cfgs, cfg.Submit.KubeQPS, cfg.Submit.KubeBurst); err != nil {
					return nil, err
				}
			}
			h := &Handler{Clusters: cs, Topics: d.Topics, Config: cfg.Submit}
			return nil, bus.Handle(d.Router, "submit", d.Topics.ImageBuilt, h.Handle)
		},
	}
}
