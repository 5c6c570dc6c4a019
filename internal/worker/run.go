package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"golang.org/x/sync/errgroup"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/logging"
	"github.com/flinkferry/flinkferry/internal/ops"
	"github.com/flinkferry/flinkferry/messages"
)

// Spec describes one worker process.
type Spec struct {
	// Name is build, submit or track.
	Name string
	// Common is the shared configuration.
	Common Common
	// Logger overrides the logger built from Common.Log (tests, dev mode).
	Logger *slog.Logger
	// Ops overrides the ops server (dev mode shares one); nil builds one.
	Ops *ops.Server
	// Setup registers the worker's handlers and returns background loops
	// to run next to the router (nil for none).
	Setup func(ctx context.Context, d Deps) ([]func(context.Context) error, error)
}

// Deps are what Setup receives.
type Deps struct {
	Router *bus.Router
	Topics messages.Topics
	Log    *slog.Logger
	Ops    *ops.Server
}

// Run runs the worker until ctx ends, then shuts it down gracefully.
func Run(ctx context.Context, s Spec) error {
	log := s.Logger
	if log == nil {
		l, err := logging.New(os.Stderr, s.Common.Log, s.Name)
		if err != nil {
			return err
		}
		log = l
		logging.RouteLibraries(log)
	}
	srv := s.Ops
	if srv == nil {
		srv = ops.New(log)
	}
	if s.Common.Kafka.CreateTopics {
		if err := bus.EnsureTopics(s.Common.Kafka); err != nil {
			return err
		}
	}
	router, err := bus.NewRouter(s.Common.Kafka, bus.Options{
		Worker: s.Name, Logger: log, Registerer: srv.Registry, Handler: s.Common.Handler,
	})
	if err != nil {
		return err
	}
	srv.AddReadinessCheck("kafka-router-"+s.Name, func(context.Context) error {
		if !router.IsRunning() {
			return errors.New("router not consuming yet")
		}
		return nil
	})

	g, ctx := errgroup.WithContext(ctx)
	loops, err := s.Setup(ctx, Deps{Router: router, Topics: s.Common.Kafka.Topics(), Log: log, Ops: srv})
	if err != nil {
		return fmt.Errorf("setting up %s worker: %w", s.Name, err)
	}
	g.Go(func() error { return router.Run(ctx) })
	for _, loop := range loops {
		g.Go(func() error { return loop(ctx) })
	}
	if s.Ops == nil {
		g.Go(func() error { return srv.Serve(ctx, s.Common.Ops.Addr) })
	}
	log.Info("worker started", "brokers", s.Common.Kafka.Brokers, "topic_prefix", s.Common.Kafka.TopicPrefix)
	err = g.Wait()
	log.Info("worker stopped", "error", err)
	return err
}
