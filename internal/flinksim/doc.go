// Package flinksim simulates Apache Flink JobManager REST APIs (v1, Flink
// 1.19) for tests and benchmarks of flinkferry's submit and track workers.
//
// One [Server] hosts many virtual JobManagers ("clusters"). A request
// reaches cluster NAME at /c/NAME/<flink-path>, or, with
// [ServerOptions.HostRouting], through a Host header NAME.<anything>; a
// server made by [NewSingle] also serves its one cluster at / so a client
// configured with a plain base URL works unchanged. A request for a
// cluster that does not exist (never added, removed, or shut down) is
// answered like a vanished JobManager, see [Vanish].
//
// Every response follows Flink's own OpenAPI spec
// (testdata/flink-rest-api-v1.19.yml, a copy of the reference beside the repository) and the places where real
// Flink deviates from that spec: checkpoint entries discriminated by
// "@class", "NaN" strings in checkpoint summary percentiles, null latest
// checkpoints, end-time -1 while a job runs, lower-case task counts in
// /jobs/overview against upper-case status-counts in /jobs/{jobid}, an
// interval of 9223372036854775807 for disabled checkpointing, errors as
// {"errors":[...]}. contract_test.go checks every body the simulator can
// produce against the spec and lists each allowed deviation.
//
// Jobs follow a [Script] of states on an injectable [Clock]; a
// [ManualClock] makes lifecycles deterministic. State is computed lazily
// when a request arrives, so idle clusters cost nothing and a benchmark can
// host 10,000 of them on one port. Checkpoints complete (or fail) on a
// schedule, savepoints and stop-with-savepoint take a configured time and
// then succeed or fail, cancel passes through CANCELLING. Faults (HTTP
// errors, timeouts, slow or garbage responses, connection resets) can be
// injected per cluster and per path, see [Fault].
package flinksim
