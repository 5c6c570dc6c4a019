#!/usr/bin/env bash
# build.sh builds the control plane that internal/kubetest runs in tests:
# kube-apiserver, kube-controller-manager and etcd, at the versions pinned in
# this directory's go.mod, into a cache directory outside the repository.
#
#   bash hack/k8s-testbin/build.sh           # build what is missing or stale
#   bash hack/k8s-testbin/build.sh --force   # rebuild everything
#
# The directory is $FLINKFERRY_K8S_BIN, or by default
# $HOME/.cache/flinkferry/k8s-testbin/<kubernetes version>. A binary that
# already reports the pinned version is kept. A cold build (empty Go caches)
# takes several minutes on two cores; see docs/testing-kubernetes.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

force=0
for arg in "$@"; do
	case "$arg" in
	--force) force=1 ;;
	-h | --help)
		sed -n '2,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
		exit 0
		;;
	*)
		echo "build.sh: unknown argument: $arg" >&2
		exit 2
		;;
	esac
done

# The versions come from go.mod so that it stays the one place to change them.
modversion() {
	awk -v m="$1" '$1 == m && $2 ~ /^v/ { print $2; exit }' "$here/go.mod"
}
k8s_version="$(modversion k8s.io/kubernetes)"
etcd_version="$(modversion go.etcd.io/etcd/server/v3)"
if [[ -z "$k8s_version" || -z "$etcd_version" ]]; then
	echo "build.sh: cannot read the kubernetes or etcd version from $here/go.mod" >&2
	exit 1
fi

bin="${FLINKFERRY_K8S_BIN:-$HOME/.cache/flinkferry/k8s-testbin/$k8s_version}"

# reports_version NAME prints nothing and succeeds when $bin/NAME exists and
# reports the pinned version.
reports_version() {
	local out
	[[ -x "$bin/$1" ]] || return 1
	out="$("$bin/$1" --version 2>/dev/null)" || return 1
	case "$1" in
	etcd) grep -q "^etcd Version: ${etcd_version#v}\$" <<<"$out" ;;
	*) [[ "$out" == "Kubernetes $k8s_version" ]] ;;
	esac
}

declare -A pkgs=(
	[kube-apiserver]=k8s.io/kubernetes/cmd/kube-apiserver
	[kube-controller-manager]=k8s.io/kubernetes/cmd/kube-controller-manager
	[etcd]=go.etcd.io/etcd/server/v3
)

todo=()
for name in kube-apiserver kube-controller-manager etcd; do
	if ((force == 0)) && reports_version "$name"; then
		echo "skipped $name: $bin/$name already reports $([[ $name == etcd ]] && echo "$etcd_version" || echo "$k8s_version")"
	else
		todo+=("$name")
	fi
done
if ((${#todo[@]} == 0)); then
	exit 0
fi

if ! command -v go >/dev/null; then
	echo "build.sh: go is not on PATH; install Go $(awk '$1 == "go" { print $2 }' "$here/go.mod") or newer" >&2
	exit 1
fi

minor="${k8s_version#v1.}"
minor="${minor%%.*}"
ldflags=(
	-s -w
	-X "k8s.io/component-base/version.gitVersion=$k8s_version"
	-X "k8s.io/component-base/version.gitMajor=1"
	-X "k8s.io/component-base/version.gitMinor=$minor"
	-X "k8s.io/component-base/version.gitTreeState=clean"
	-X "go.etcd.io/etcd/api/v3/version.GitSHA=go-module-$etcd_version"
)
targets=()
for name in "${todo[@]}"; do
	targets+=("${pkgs[$name]}")
done

mkdir -p "$bin"
# Two builds at once would both take minutes; the second waits, then finds
# the binaries the first built.
if command -v flock >/dev/null; then
	exec 9>"$bin/.lock"
	if ! flock -n 9; then
		echo "waiting for another build.sh building into $bin"
		flock 9
		exec bash "${BASH_SOURCE[0]}" "$@"
	fi
fi
tmp="$(mktemp -d "$bin/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

echo "building ${todo[*]} (kubernetes $k8s_version, etcd $etcd_version) into $bin with $(go version | cut -d' ' -f3), $(nproc) cores"
start=$(date +%s)
# One go build for every program lets the toolchain share work between them.
# -X for a symbol a program does not have is ignored, so one set of ldflags
# serves both Kubernetes and etcd. CGO is off, as in Kubernetes' releases.
(
	cd "$here"
	CGO_ENABLED=0 go build -trimpath -ldflags "${ldflags[*]}" -o "$tmp/" "${targets[@]}"
)
for name in "${todo[@]}"; do
	out="$tmp/$name"
	# go build names etcd after its import path: go.etcd.io/etcd/server/v3 -> server.
	[[ $name == etcd ]] && out="$tmp/server"
	mv -f "$out" "$bin/$name"
	if ! reports_version "$name"; then
		echo "build.sh: $bin/$name does not report the pinned version:" >&2
		"$bin/$name" --version >&2 || true
		exit 1
	fi
done
echo "built ${todo[*]} in $(($(date +%s) - start)) s"
