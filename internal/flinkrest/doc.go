// Package flinkrest is a small client for Apache Flink's JobManager REST
// API v1 (Flink 1.17 to 2.x, shapes from Flink 1.19's OpenAPI spec), used
// by the submit worker (session jobs: jar upload and run) and the track
// worker (polling thousands of JobManagers).
//
// One [Client] serves any number of JobManagers: every method takes the
// JobManager's base URL, which may carry a path prefix (the Kubernetes API
// server's service proxy, a simulator's /c/<name>), and all of them share
// one pooled http.Transport. Every request is bounded by
// [Options.RequestTimeout] (uploads and runs by [Options.SubmitTimeout]),
// so one dead JobManager never holds up the others.
//
// Day-2 operations are asynchronous in Flink and so here: a savepoint,
// a stop-with-savepoint and a savepoint disposal return a trigger id that
// the caller polls ([Client.SavepointStatus], [Client.DisposalStatus])
// round after round, never waiting inside a call. Savepoint trigger ids
// are chosen by the caller ([TriggerID] derives one from a request id) so
// that a repeated request is the same Flink operation.
//
// Answers are decoded tolerantly, the way real Flink writes them rather
// than the way its spec says: unknown fields are ignored, numbers may come
// as strings ("NaN" percentiles, "12"), end-time -1 and other negative
// timestamps become the zero time, checkpoint entries are recognised by
// "@class" or "className", latest checkpoints may be null, task counts
// are read whatever the case of their keys, and an interval of
// 9223372036854775807 means "disabled".
//
// Errors carry their class: an HTTP error answer is an [*Error] (with
// Flink's {"errors":[...]} strings), a body that cannot be decoded is a
// [*DecodeError], a transport failure is a [*RequestError]. [IsNotFound]
// and [IsUnavailable] sort them for callers; [ErrOperationNotFound] (a
// trigger id Flink does not know) and [ErrJobTerminal] (cancelling a job
// that already ended) match with errors.Is. No error text contains
// credentials or query strings of the URL.
package flinkrest
