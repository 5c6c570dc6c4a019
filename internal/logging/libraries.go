package logging

import (
	"log/slog"

	"github.com/IBM/sarama"
	"github.com/google/go-containerregistry/pkg/logs"
	"k8s.io/klog/v2"
)

// RouteLibraries sends the package-level loggers of sarama, klog (client-go)
// and go-containerregistry to l, each tagged with its origin. watermill takes
// its logger per component (watermill.NewSlogLogger).
func RouteLibraries(l *slog.Logger) {
	sarama.Logger = slog.NewLogLogger(l.With("lib", "sarama").Handler(), slog.LevelDebug)
	klog.SetSlogLogger(l.With("lib", "client-go"))
	logs.Warn = slog.NewLogLogger(l.With("lib", "ggcr").Handler(), slog.LevelWarn)
	logs.Debug = slog.NewLogLogger(l.With("lib", "ggcr").Handler(), slog.LevelDebug)
}
