// Package ops serves a worker's operations endpoints on one port:
// Prometheus metrics on /metrics, liveness on /healthz and readiness on
// /readyz.
package ops
