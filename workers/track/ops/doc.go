// Package ops is the state machine of day-2 operations (cancel, suspend,
// resume, savepoint, delete, dispose; docs/day2.md), beside the job state
// machine of package state and, like it, pure: no I/O, no clock, the
// round's observation and time passed in, deterministic and idempotent.
//
// The track worker's control handler records an operation (Phase
// requested); each round of the loop that polls the job's JobManager asks
// Next what to do (trigger the Flink operation with the trigger id derived
// from the request id, poll its status, clean Kubernetes up, redeploy),
// does it, and passes the outcome in the next round's observation. A step
// that users should see (a savepoint completed, a suspend failed with
// Flink's cause) comes back as a Step, published on the status topic like
// a job transition.
package ops
