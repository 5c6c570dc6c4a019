package build

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flinkferry/flinkferry/internal/failure"
)

// Metrics of the build worker.
type Metrics struct {
	builds        *prometheus.CounterVec
	duration      prometheus.Histogram
	uploadedBytes prometheus.Counter
	mountedBytes  prometheus.Counter
	cacheHits     prometheus.Counter
}

// NewMetrics registers the build metrics on reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		builds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "flinkferry", Subsystem: "build", Name: "builds_total",
			Help: "Builds by result: built, cached, or the failure reason.",
		}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "flinkferry", Subsystem: "build", Name: "duration_seconds",
			Help: "Build duration from request to pushed image.", Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
		}),
		uploadedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "flinkferry", Subsystem: "build", Name: "uploaded_bytes_total",
			Help: "Bytes uploaded to the registry.",
		}),
		mountedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "flinkferry", Subsystem: "build", Name: "base_mounted_bytes_total",
			Help: "Base image bytes reused in the registry instead of uploaded.",
		}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "flinkferry", Subsystem: "build", Name: "cache_hits_total",
			Help: "Builds skipped because the image already existed with the same inputs.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.builds, m.duration, m.uploadedBytes, m.mountedBytes, m.cacheHits)
	}
	return m
}

func (m *Metrics) observe(res *Result, err error, d time.Duration) {
	switch {
	case err != nil && failure.IsPermanent(err):
		m.builds.WithLabelValues(failure.Reason(err)).Inc()
	case err != nil:
		m.builds.WithLabelValues("transient_error").Inc()
	case res.CacheHit:
		m.builds.WithLabelValues("cached").Inc()
	default:
		m.builds.WithLabelValues("built").Inc()
		m.duration.Observe(d.Seconds())
	}
}
