package track

import (
	"context"
	"errors"
	"net/http"

	"golang.org/x/sync/errgroup"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/flinkrest"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/internal/redisclient"
	"github.com/flinkferry/flinkferry/internal/worker"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/shard"
)

// Run runs the track worker until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	return worker.Run(ctx, Spec(cfg, Overrides{}))
}

// Overrides replace what the worker would build from its configuration
// (tests, dev mode).
type Overrides struct {
	// Clusters replaces the clusters connected from the configuration.
	Clusters *kubeclusters.Set
	// HTTPClient sends the Flink REST requests (e.g. a dialer that reaches
	// simulated JobManagers at their cluster DNS names).
	HTTPClient *http.Client
}

// Spec returns the worker specification.
func Spec(cfg Config, o Overrides) worker.Spec {
	clusters := o.Clusters
	return worker.Spec{
		Name:   "track",
		Common: cfg.Common,
		Setup: func(ctx context.Context, d worker.Deps) ([]func(context.Context) error, error) {
			t := cfg.Track
			cs := clusters
			if cs == nil {
				cfgs, err := t.clusters()
				if err != nil {
					return nil, err
				}
				if cs, err = kubeclusters.Connect(cfgs, t.KubeQPS, t.KubeBurst); err != nil {
					return nil, err
				}
			}
			rdb, err := redisclient.New(ctx, cfg.Redis)
			if err != nil {
				return nil, err
			}
			store, err := jobstore.New(rdb, t.storeOptions())
			if err != nil {
				return nil, err
			}
			legacy, err := store.SaveLayout(ctx)
			if err != nil {
				return nil, err
			}
			if legacy {
				d.Log.Warn("Redis holds jobs in the key layout of an older flinkferry (ff:jobs, ff:job:<key>): they are not read; "+
					"the recovery registers every job again from Kubernetes (docs/redis.md, upgrading to layout 2)",
					"prefix", t.RedisPrefix)
			}
			leases, err := shard.New(rdb, t.leaseOptions(d.Log))
			if err != nil {
				return nil, err
			}
			prod, err := bus.NewProducer(cfg.Kafka, "flinkferry/track")
			if err != nil {
				return nil, err
			}
			flink := flinkrest.New(flinkrest.Options{HTTPClient: o.HTTPClient, RequestTimeout: t.RequestTimeout, UserAgent: "flinkferry-track"})
			pub := &producerPublisher{p: prod, topic: d.Topics.Status, imageBuilt: d.Topics.For(messages.TypeImageBuilt)}

			tr := NewTracker(t, Deps{
				Store: store, Flink: flink, Owner: leases, Publisher: pub, Clusters: cs,
				Redeployer: pub, Log: d.Log, Registerer: d.Ops.Registry,
			})
			// The leases are released and the tracker stopped before
			// the Redis client and the producer close.
			loops := []func(context.Context) error{func(ctx context.Context) error {
				g, ctx := errgroup.WithContext(ctx)
				g.Go(func() error { return leases.Run(ctx) })
				g.Go(func() error { return tr.Run(ctx) })
				err := g.Wait()
				return errors.Join(err, prod.Close(), rdb.Close())
			}}
			d.Ops.AddReadinessCheck("redis", func(ctx context.Context) error { return rdb.Ping(ctx).Err() })

			h := &Handler{Store: store, Log: d.Log}
			if err := bus.Handle(d.Router, "track", d.Topics.Deployed, h.Handle); err != nil {
				return nil, err
			}
			ch := &ControlHandler{Store: store, Refusals: pub, Timeout: t.OperationTimeout, SavepointDirs: t.SavepointDirs, SharedSavepointDirs: t.SharedSavepointDirs}
			if err := bus.Handle(d.Router, "track-control", d.Topics.Control, ch.HandleAny); err != nil {
				return nil, err
			}
			return loops, nil
		},
	}
}

// producerPublisher publishes status events, refusals and resumed jobs
// with the bus producer.
type producerPublisher struct {
	p          *bus.Producer
	topic      string
	imageBuilt []string
}

// NewStatusPublisher publishes status events to topic with p, a page of
// them at once (BatchPublisher), as the worker does.
func NewStatusPublisher(p *bus.Producer, topic string) BatchPublisher {
	return &producerPublisher{p: p, topic: topic}
}

func (p *producerPublisher) Publish(ctx context.Context, ev *messages.JobStatusChanged, id string) error {
	return p.p.SendWithID(ctx, ev, id, p.topic)
}

func (p *producerPublisher) PublishBatch(ctx context.Context, evs []IdentifiedStatus) (int, error) {
	batch := make([]bus.Identified, len(evs))
	for i, e := range evs {
		batch[i] = bus.Identified{Event: e.Event, ID: e.ID}
	}
	return p.p.SendBatch(ctx, p.topic, batch)
}

func (p *producerPublisher) PublishRefusal(ctx context.Context, ev *messages.ControlRefused, id string) error {
	return p.p.SendWithID(ctx, ev, id, p.topic)
}

func (p *producerPublisher) Redeploy(ctx context.Context, ev *messages.ImageBuilt, id string) error {
	return p.p.SendWithID(ctx, ev, id, p.imageBuilt...)
}
