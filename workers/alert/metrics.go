package alert

import "github.com/prometheus/client_golang/prometheus"

// metrics are the alert worker's Prometheus metrics, per channel.
type metrics struct {
	sent       *prometheus.CounterVec
	failed     *prometheus.CounterVec
	retried    *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	suppressed *prometheus.CounterVec
	resent     *prometheus.CounterVec
	evaluation prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "flinkferry", Subsystem: "alert", Name: "notifications_sent_total",
			Help: "Notices delivered, by channel and status (firing, resolved).",
		}, []string{"channel", "status"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "flinkferry", Subsystem: "alert", Name: "notifications_failed_total",
			Help: "Notices not delivered (refused by the receiver, retry budget spent, body not rendered), by channel; the status event is dead-lettered.",
		}, []string{"channel"}),
		retried: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "flinkferry", Subsystem: "alert", Name: "delivery_retries_total",
			Help: "Delivery attempts after a failed one, by channel.",
		}, []string{"channel"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "flinkferry", Subsystem: "alert", Name: "delivery_duration_seconds",
			Help:    "Time from the first attempt to a successful delivery (retries included), by channel.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"channel"}),
		suppressed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "flinkferry", Subsystem: "alert", Name: "notifications_suppressed_total",
			Help: "Firing alerts not sent because their job had a notice within FLINKFERRY_ALERT_MIN_INTERVAL, by rule.",
		}, []string{"rule"}),
		resent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "flinkferry", Subsystem: "alert", Name: "alertmanager_resent_total",
			Help: "Firing alerts posted again to an Alertmanager channel (every FLINKFERRY_ALERT_RESEND_INTERVAL), by channel and result (ok, failed).",
		}, []string{"channel", "result"}),
		evaluation: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "flinkferry", Subsystem: "alert", Name: "evaluation_duration_seconds",
			Help:    "Time one evaluation of the conditions over time took (every job, every condition rule, notices included).",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
	}
	if reg != nil {
		reg.MustRegister(m.sent, m.failed, m.retried, m.latency, m.suppressed, m.resent, m.evaluation)
	}
	return m
}
