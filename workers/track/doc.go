// Package track is the track worker: it polls Flink REST and watches Kubernetes, stores job status and metrics in Redis and publishes status changes.
package track
