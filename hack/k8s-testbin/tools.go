//go:build tools

// Package k8stestbin pins the control plane programs that build.sh compiles.
// The blank imports keep them, and everything they need, in go.mod and
// go.sum when `go mod tidy` runs in this module. The tools build tag keeps
// the file out of every build: the imports are programs, not libraries.
package k8stestbin

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
