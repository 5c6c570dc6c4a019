// Package worker runs a flinkferry worker process: it loads the shared
// configuration, sets up logging, connects the Kafka router, serves the ops
// endpoints, and stops everything in order when the context ends (SIGTERM:
// stop consuming, finish in-flight messages, commit, exit).
package worker
