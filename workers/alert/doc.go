// Package alert is the alert worker: it consumes the status topic in its
// own consumer group, matches every job status changed event against the
// rules of a YAML file, evaluates the rules' conditions over time
// (restarts, failed checkpoints in a window, checkpoint age, not running
// after deploy) on the track worker's job records, keeps one alert per
// (rule, job) in Redis and sends firing and resolved notices to three
// kinds of channel: Alertmanager (API v2, re-sent while firing), webhooks
// (Go-template bodies, shipped chat templates, optional HMAC-SHA256
// signatures) and email (SMTP with STARTTLS and AUTH, text and HTML).
//
// A redelivered event never notifies twice: the alert state in Redis
// records the last event applied to each alert (compare-and-set in one Lua
// script) and which channels still wait for it. A notice that cannot be
// delivered within the retry budget fails the handler with a permanent
// error, so the bus dead-letters the status event with the reason; the
// channels not yet served stay pending, so replaying the dead letter
// delivers only those.
package alert
