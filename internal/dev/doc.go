// Package dev starts the embedded peers of `flinkferry dev` in one process:
// a kfake Kafka-protocol cluster with the flinkferry topics, a redis-server
// without persistence, an in-memory OCI registry holding stand-in Flink base
// images, and an artifact HTTP server serving an example jar. Start writes
// the devstate file the CLI commands read; Env.Close stops everything and
// removes it.
package dev
