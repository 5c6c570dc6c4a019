// Package kubetest runs a real Kubernetes control plane for tests: etcd and
// kube-apiserver, and optionally kube-controller-manager, started as child
// processes on random loopback ports, in the spirit of controller-runtime's
// envtest.
//
// The binaries are built once per machine from the Go module proxy by
// hack/k8s-testbin/build.sh and cached outside the repository; a test whose
// binaries are missing fails and names that command. See
// docs/testing-kubernetes.md.
//
// A test starts its own control plane with [Start], or shares one per package
// with [Shared] once TestMain calls [Main]. Either way it gets an admin
// [rest.Config] (a client certificate in group system:masters), a kubeconfig
// file for other processes, and tokens for ServiceAccounts minted with the
// TokenRequest API, so that code runs with exactly the RBAC rules it would
// have in a cluster (RBAC and Node authorization are on).
//
// There is no kubelet and no scheduler: pods never run. The helpers in
// kubelet.go write what a kubelet or a cloud provider would (Deployment
// status, pod phases and container waiting reasons, load balancer ingress).
package kubetest
