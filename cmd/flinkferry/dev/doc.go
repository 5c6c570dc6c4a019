// Package dev starts the embedded peers of `flinkferry dev` in one process:
// a kfake Kafka-protocol cluster with the flinkferry topics, Redis (a
// redis-server without persistence when one is on PATH, else an embedded
// miniredis), an in-memory OCI registry holding stand-in Flink base
// images, and an artifact HTTP server serving an example jar. Start writes
// the devstate file the CLI commands read; Env.Close stops everything and
// removes it.
//
// StartKube provides the Kubernetes target: a real cluster, or a simulated
// one (a local kube-apiserver + etcd when internal/kubetest finds their
// binaries, else client-go's in-memory fake clientset) with a kubelet
// simulation and the Flink REST simulator. Options.EmbeddedRedis and
// KubeOptions.FakeClientset force the fallbacks.
package dev
