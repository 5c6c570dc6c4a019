// Package faults runs the real `flinkferry worker` binaries (two replicas
// of each) against the real peers (kfake, redis-server, Debian's
// docker-registry, kube-apiserver + etcd with a simulated kubelet, the
// Flink REST simulator reached over HTTP), drives submit and control
// requests through them while it injects faults, and then counts, per
// request, what came out of Kafka, Redis, the registry, the API server and
// Flink: nothing lost, nothing done twice (issue 18).
//
// `go test ./test/faults` runs the short profile (the default test run);
// FLINKFERRY_FAULTS_PROFILE=full (`go tool task test-faults`) the full
// one. docs/reliability.md has the figures and how to reproduce them.
package faults
