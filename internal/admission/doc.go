// Package admission decides whether a submit request may run at all,
// before any work is done for it: the target Kubernetes cluster is
// configured, the namespace and every service account the request names
// (the typed field, Flink's kubernetes.*service-account dynamic options,
// the pod templates) are allow-listed, and so is the account a request
// naming none runs as (the submit worker's Flink configuration, see
// [Admitter.WithFlinkConf]; "default" without one), the pod templates are Pods whose
// main container is flink-main-container, and the pods Flink will create
// from them (with the dynamic options that change pod shape: host network,
// annotations) meet the Pod Security Standards level configured for the
// cluster and namespace, checked with Kubernetes' own Pod Security
// Admission library and worded as Kubernetes words it.
//
// The build worker admits a request before it fetches anything; the submit
// worker admits it again with the same code before it deploys (defence in
// depth: an image built event can be produced by anyone with access to the
// topic).
package admission
