#!/usr/bin/env bash
# update.sh moves this module to another Kubernetes release:
#
#   bash hack/k8s-testbin/update.sh v1.37.3
#
# k8s.io/kubernetes replaces each staging module (k8s.io/api, ...) with a
# directory of its own repository, so a module that requires it must replace
# them with the published versions (v0.X.Y for Kubernetes v1.X.Y). The list
# is read from the release's own go.mod, then `go mod tidy` picks the
# matching etcd. Update KubernetesVersion in internal/kubetest/binaries.go too
# (a test checks they agree).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="${1:?usage: update.sh v1.X.Y}"
[[ "$version" =~ ^v1\.[0-9]+\.[0-9]+$ ]] || {
	echo "update.sh: $version is not a Kubernetes release (v1.X.Y)" >&2
	exit 2
}
staging="v0.${version#v1.}"

cd "$here"
go mod download "k8s.io/kubernetes@$version"
upstream="$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$version.mod"
replaces="$(sed -n '/^replace (/,/^)/p' "$upstream" |
	sed -n "s#^[[:space:]]*\(k8s.io/[^ ]*\) => \./staging/.*#\t\1 => \1 $staging#p")"
if [[ -z "$replaces" ]]; then
	echo "update.sh: no staging replace block in $upstream" >&2
	exit 1
fi

# Keep the header comment, then require the release and replace its staging
# modules; go mod tidy adds everything else.
{
	sed -n '/^module /q;p' go.mod
	sed -n '/^module /p' go.mod
	echo
	echo "go $(awk '$1 == "go" { print $2; exit }' "$upstream")"
	echo
	echo "require k8s.io/kubernetes $version"
	echo
	echo "replace ("
	echo "$replaces"
	echo ")"
} >go.mod.new
mv go.mod.new go.mod
go mod tidy
echo "hack/k8s-testbin now builds Kubernetes $version with etcd $(awk '$1 == "go.etcd.io/etcd/server/v3" { print $2; exit }' go.mod)"
