package build

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/flinkferry/flinkferry/internal/admission"
	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/internal/oci"
	"github.com/flinkferry/flinkferry/internal/redisclient"
	"github.com/flinkferry/flinkferry/internal/worker"
)

// Run runs the build worker until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	return worker.Run(ctx, Spec(cfg))
}

// Spec returns the worker specification (dev mode runs it in-process).
func Spec(cfg Config) worker.Spec {
	return worker.Spec{
		Name:   "build",
		Common: cfg.Common,
		Setup: func(ctx context.Context, d worker.Deps) ([]func(context.Context) error, error) {
			b, err := NewBuilder(cfg.Build, NewMetrics(d.Ops.Registry))
			if err != nil {
				return nil, err
			}
			adm, err := cfg.Build.admitter()
			if err != nil {
				return nil, err
			}
			h := &Handler{Builder: b, Admitter: adm, Topics: d.Topics, DefaultBaseImage: cfg.Build.DefaultBaseImage, MavenRepository: cfg.Build.MavenRepository}
			var loops []func(context.Context) error
			if cfg.Build.RequestHashes {
				rdb, err := redisclient.New(ctx, cfg.Redis)
				if err != nil {
					return nil, err
				}
				prod, err := bus.NewProducer(cfg.Kafka, "flinkferry/build")
				if err != nil {
					return nil, errors.Join(err, rdb.Close())
				}
				h.Requests = &RedisRequestHashes{Client: rdb, Prefix: cfg.Build.RequestHashRedisPrefix, TTL: cfg.Build.RequestHashRetention}
				h.Refusals = prod
				d.Ops.AddReadinessCheck("redis", func(ctx context.Context) error { return rdb.Ping(ctx).Err() })
				loops = append(loops, func(ctx context.Context) error {
					<-ctx.Done()
					return errors.Join(prod.Close(), rdb.Close())
				})
			}
			return loops, bus.Handle(d.Router, "build", d.Topics.Submit, h.Handle)
		},
	}
}

// NewBuilder wires a Builder from configuration.
func NewBuilder(c BuildConfig, m *Metrics) (*Builder, error) {
	platforms, err := c.platforms()
	if err != nil {
		return nil, err
	}
	var auth authn.Authenticator
	if c.RegistryUsername != "" {
		auth = &authn.Basic{Username: c.RegistryUsername, Password: c.RegistryPassword}
	}
	var kc authn.Keychain = authn.DefaultKeychain
	if c.DockerConfig != "" {
		kc = oci.DockerConfigKeychain(c.DockerConfig)
	}
	hosts := append([]string(nil), c.ArtifactAllowedHosts...)
	return &Builder{
		Fetcher: &Fetcher{AllowedHosts: hosts, MaxBytes: c.ArtifactMaxBytes, Dir: c.WorkDir, Client: &http.Client{Timeout: 30 * time.Minute}},
		Registry: &Registry{
			Host: c.Registry, Namespace: c.RegistryNamespace, Auth: auth, Keychain: kc, Insecure: c.RegistryInsecure,
		},
		Encoding:   c.LayerEncoding,
		MirrorBase: c.MirrorBase,
		Platforms:  platforms,
		Metrics:    m,
	}, nil
}

// admitter admits requests with the submit worker's policy (the clusters
// or ALLOWED_* variables) and its Flink configuration's service accounts
// (SUBMIT_FLINK_CONF) and savepoint locations (SAVEPOINT_DIRS), as the
// submit worker does.
func (b BuildConfig) admitter() (*admission.Admitter, error) {
	clusters, err := b.Clusters("build", "", "")
	if err != nil {
		return nil, err
	}
	adm, err := kubeclusters.NewAdmitter(clusters)
	if err != nil {
		return nil, err
	}
	base, err := admission.ParseFlinkConf(b.SubmitFlinkConf)
	if err != nil {
		return nil, fmt.Errorf("build: SUBMIT_FLINK_CONF: %w", err)
	}
	return adm.WithFlinkConf(base).WithSavepointDirs(b.SavepointDirs), nil
}
