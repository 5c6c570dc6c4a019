// Package bus is the Kafka plumbing shared by every flinkferry worker.
//
// It builds watermill routers on watermill-kafka v3 (IBM/sarama) with the
// settings a worker needs to be correct under at-least-once delivery:
// Kafka protocol 2.8, new consumer groups start at the oldest offset, an
// idempotent producer that waits for all in-sync replicas, and messages keyed
// by the job they concern so that one job's events stay ordered in one
// partition.
//
// Every handler runs inside the same middleware chain (outermost first):
//
//	correlation id -> dead letter (bounded publish attempts) -> retry
//	(exponential backoff, transient errors only) -> per-attempt timeout ->
//	panic recovery -> decode -> handler
//
// A message that cannot be processed (malformed, invalid, a permanent error,
// a panic, or transient errors past the retry budget) is published once to
// the dead-letter topic with a machine-readable reason header and then
// acknowledged, so the partition keeps flowing. The record always fits
// the topic (DeadLetterMaxBytes: the value is cut when it must be, with
// the original size and SHA-256 in headers), and when the dead-letter
// topic refuses it all the same, after a few attempts the message is
// logged once, counted in flinkferry_dead_letter_failures_total and
// acknowledged: a lost record rather than a wedged partition. A handler
// interrupted by shutdown is not dead-lettered: its message is left
// uncommitted and is redelivered to the next consumer.
//
// Nothing the bus writes grows with the message: error texts are cut at
// MaxErrorHeaderBytes in headers and MaxErrorLogBytes in logs, and every
// log line goes through logging.Bound (logging.MaxLineBytes).
package bus
