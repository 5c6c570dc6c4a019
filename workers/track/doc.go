// Package track is the track worker: it polls Flink REST and watches Kubernetes, stores job status and metrics in Redis and publishes status changes.
//
// The files follow the Tracker's concerns:
//
//   - tracker.go: the Tracker, the peers it needs (Store, Flink, ShardOwner) and Run
//   - schedule.go: the loop and the dispatch of due polls from the wheels (wheel.go)
//   - tracked.go: the tracked set, reloaded from the owned shards
//   - poll.go: the poller pool and the Flink REST polls
//   - finalpoll.go: the last metric poll of a job that ended in Flink (its final checkpoints)
//   - collect.go: poll results and Kubernetes changes turned into decisions (state.Decide)
//   - fold.go: the decisions written to Redis and folded back into the tracked set
//   - outbox.go: *job status changed* events built from the shards' outboxes and published
//   - housekeeping.go: expired jobs swept, finished application clusters removed
//   - kube.go, recovery.go: the informers, and re-registration from Kubernetes
//
// handler.go is the Kafka handler of deployed events; run.go wires the process.
package track
