// Package submit is the submit worker: it deploys Flink clusters and jobs to Kubernetes (native application and session mode), then emits deployed.
package submit
