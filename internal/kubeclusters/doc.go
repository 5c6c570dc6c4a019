// Package kubeclusters connects the workers to the Kubernetes clusters
// jobs run on: named clusters, each with its kubeconfig (or the in-cluster
// configuration), context, allow-lists, way of reaching JobManagers and
// optional Web UI Ingress template ([Ingress]).
// The submit worker deploys to them; the track worker watches them. Both
// read the same clusters file (see [File]).
package kubeclusters
