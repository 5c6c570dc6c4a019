package testenv

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/logging"
	"github.com/flinkferry/flinkferry/internal/ops"
	"github.com/flinkferry/flinkferry/internal/worker"
)

// WorkerCommon is a worker configuration for tests on k: fast retries
// (50 ms doubling, 3 retries within 10 s), 30 s attempts, JSON logs.
func (k *KafkaCluster) WorkerCommon() worker.Common {
	return worker.Common{
		Kafka: k.BusConfig(),
		Handler: bus.HandlerConfig{Timeout: 30 * time.Second, MaxRetries: 3, InitialInterval: 50 * time.Millisecond,
			MaxInterval: time.Second, Multiplier: 2, MaxElapsed: 10 * time.Second},
		Log: logging.Config{Level: "info", Format: "json"},
	}
}

// RunWorker runs spec in the background until the test ends, with logs
// discarded (shown with -v) and its own ops registry, and fails the test
// if the worker stops with an error.
func RunWorker(t testing.TB, spec worker.Spec) {
	t.Helper()
	if spec.Logger == nil {
		spec.Logger = slog.New(slog.DiscardHandler)
		if testing.Verbose() {
			spec.Logger = slog.Default()
		}
	}
	if spec.Ops == nil {
		spec.Ops = ops.New(spec.Logger)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- worker.Run(ctx, spec) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker %s: %v", spec.Name, err)
		}
	})
}
