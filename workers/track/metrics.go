package track

import "github.com/prometheus/client_golang/prometheus"

// metrics are the track worker's Prometheus metrics.
type metrics struct {
	jobs        *prometheus.GaugeVec
	pollSeconds *prometheus.HistogramVec
	pollErrors  *prometheus.CounterVec
	staleness   prometheus.Histogram
	shards      prometheus.Gauge
	transitions *prometheus.CounterVec
	published   prometheus.Counter
	conflicts   prometheus.Counter
	pollSkipped prometheus.Counter
	// Day-2 operations.
	opSteps            *prometheus.CounterVec
	savepointsDisposed prometheus.Counter
	autoRestarts       *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		jobs: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "flinkferry", Subsystem: "track", Name: "jobs",
			Help: "Jobs tracked by this replica (its shards), by state.",
		}, []string{"state"}),
		pollSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "flinkferry", Subsystem: "track", Name: "poll_duration_seconds",
			Help:    "Latency of Flink REST polls, by kind (job_status, cluster_metric).",
			Buckets: []float64{.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"kind"}),
		pollErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "flinkferry", Subsystem: "track", Name: "poll_errors_total",
			Help: "Failed Flink REST polls, by kind (job_status, cluster_metric) and reason: " +
				"timeout (no complete answer within the request timeout), " +
				"unavailable (connection refused or reset, DNS failure, host or network unreachable, answer cut short), " +
				"http_5xx and http_4xx (an error status from Flink or a proxy in front of it), " +
				"decode (a 2xx answer that is not Flink's JSON, or too large), other.",
		}, []string{"kind", "reason"}),
		staleness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "flinkferry", Subsystem: "track", Name: "staleness_seconds",
			Help:    "Age of a job's last successful poll when it is polled again (now - last successful poll).",
			Buckets: []float64{1, 2.5, 5, 6, 7.5, 10, 15, 30, 60, 120, 300},
		}),
		shards: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "flinkferry", Subsystem: "track", Name: "owned_shards",
			Help: "Shards whose lease this replica holds.",
		}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "flinkferry", Subsystem: "track", Name: "transitions_total",
			Help: "State transitions recorded by this replica, by new state.",
		}, []string{"to"}),
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "flinkferry", Subsystem: "track", Name: "status_events_published_total",
			Help: "Job status changed events published to the status topic.",
		}),
		conflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "flinkferry", Subsystem: "track", Name: "write_conflicts_total",
			Help: "Redis writes refused because another writer changed the job first (the job is reloaded).",
		}),
		pollSkipped: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "flinkferry", Subsystem: "track", Name: "polls_skipped_total",
			Help: "Due polls not queued because the poll queue was full (every poller busy); they run next interval.",
		}),
		opSteps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "flinkferry", Subsystem: "track", Name: "operation_steps_total",
			Help: "Steps of day-2 operations recorded by this replica, by operation and reason (savepoint_completed, suspended, savepoint_failed, operation_timeout...).",
		}, []string{"operation", "reason"}),
		savepointsDisposed: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "flinkferry", Subsystem: "track", Name: "savepoints_retention_disposed_total",
			Help: "Savepoints past the history's retention whose disposal was asked of Flink.",
		}),
		autoRestarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "flinkferry", Subsystem: "track", Name: "auto_restarts_total",
			Help: "Automatic restarts (restart_policy) recorded by this replica, by cause (restarts, checkpoint_age).",
		}, []string{"cause"}),
	}
	if reg != nil {
		reg.MustRegister(m.jobs, m.pollSeconds, m.pollErrors, m.staleness, m.shards, m.transitions, m.published, m.conflicts, m.pollSkipped,
			m.opSteps, m.savepointsDisposed, m.autoRestarts)
	}
	return m
}
