// Package state decides a tracked job's state from one tracking round:
// what Flink's REST API answered, what the Kubernetes informers show and
// the previous decision. It is pure: no I/O, no goroutines, no clock (the
// round's time is passed in), so the same inputs always give the same
// decision, and re-evaluating a round that was already applied (a
// redelivery, another replica) never moves a job twice.
//
// [Decide] applies the precedence rules written in docs/tracking.md;
// [FromKubernetes] turns the JobManager Deployment and its pods into the
// [Kube] observation Decide reads.
package state
