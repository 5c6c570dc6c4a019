package submit

import (
	"context"
	"fmt"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/worker"
)

// Run runs the submit worker until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	return worker.Run(ctx, Spec(cfg, nil))
}

// Spec returns the worker specification. kube overrides the client built
// from the configuration (tests, dev mode).
func Spec(cfg Config, kube kubernetes.Interface) worker.Spec {
	return worker.Spec{
		Name:   "submit",
		Common: cfg.Common,
		Setup: func(ctx context.Context, d worker.Deps) ([]func(context.Context) error, error) {
			cs := kube
			if cs == nil {
				rc, err := restConfig(cfg.Submit.Kubeconfig)
				if err != nil {
					return nil, err
				}
				if cs, err = kubernetes.NewForConfig(rc); err != nil {
					return nil, fmt.Errorf("creating Kubernetes client: %w", err)
				}
			}
			h := &Handler{Kube: cs, Topics: d.Topics, Config: cfg.Submit}
			return nil, bus.Handle(d.Router, "submit", d.Topics.ImageBuilt, h.Handle)
		},
	}
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		rc, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("no FLINKFERRY_SUBMIT_KUBECONFIG and not in a cluster: %w", err)
		}
		return rc, nil
	}
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("reading kubeconfig %s: %w", kubeconfig, err)
	}
	return rc, nil
}
