package bus

import "github.com/prometheus/client_golang/prometheus"

type routerMetrics struct {
	deadLettered       *prometheus.CounterVec
	deadLetterFailures *prometheus.CounterVec
	retries            prometheus.Counter
}

func newRouterMetrics(reg prometheus.Registerer) *routerMetrics {
	m := &routerMetrics{
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "flinkferry", Name: "messages_dead_lettered_total",
			Help: "Messages sent to the dead-letter topic, by handler and reason.",
		}, []string{"handler", "reason"}),
		deadLetterFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "flinkferry", Name: "dead_letter_failures_total",
			Help: "Messages that could not be dead-lettered and were skipped (acknowledged, logged once), by handler and reason.",
		}, []string{"handler", "reason"}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "flinkferry", Name: "handler_retries_total",
			Help: "Handler attempts retried after a transient error.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.deadLettered, m.deadLetterFailures, m.retries)
	}
	return m
}
