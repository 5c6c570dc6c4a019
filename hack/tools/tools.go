//go:build tools

// Package tools pins command-line tools whose dependency trees must stay
// out of the root module (helm brings its own Kubernetes libraries).
// Run them with `go run -C hack/tools <package>` or `go tool task chart`.
package tools

import (
	_ "helm.sh/helm/v3/cmd/helm"
)
