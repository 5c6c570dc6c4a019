// Package submit is the submit worker: it deploys Flink clusters and jobs
// to Kubernetes in Flink's native application and session modes, creating
// exactly the objects Flink's own client creates (KubernetesClusterDescriptor),
// by server-side apply with one field manager, then emits deployed. When
// the Kubernetes cluster has an Ingress template (ingress.go), each
// application and session cluster also gets an Ingress for its Web UI,
// owned by the JobManager Deployment, whose URL is deployed's web_ui_url.
//
// Session jobs (mode session) create no objects: the jar, pushed by the
// build worker as an OCI artifact, is fetched from the registry by digest,
// uploaded to the session cluster over Flink's REST API and run with the
// request's Flink job id, which makes a redelivered event find the job
// instead of submitting it again (session.go).
package submit
