// Package submit is the submit worker: it deploys Flink clusters and jobs
// to Kubernetes in Flink's native application and session modes, creating
// exactly the objects Flink's own client creates (KubernetesClusterDescriptor),
// by server-side apply with one field manager, then emits deployed.
//
// This first slice holds the pure part (the effective Flink configuration
// and the objects, checked against golden files and the real API server)
// and the apply; the Kafka handler, pod-template merging, session jobs over
// REST and multi-cluster configuration follow.
package submit
