#!/usr/bin/env bash
# peers.sh installs and builds every test peer the suite needs, skipping
# what is already there, so `go tool task test` passes on a fresh machine:
#   - Debian packages: redis-server, docker-registry, htpasswd (apache2-utils)
#     and kcat, with apt-get (as root, or through sudo);
#   - kube-apiserver, kube-controller-manager and etcd (hack/k8s-testbin);
#   - the pinned helm (hack/tools) in ~/.cache/flinkferry/tools.
#
#   bash hack/peers.sh            # install/build what is missing
#   bash hack/peers.sh --update   # always apt-get update + install (CI)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

update=0
[ "${1:-}" = "--update" ] && update=1

missing=()
for c in redis-server docker-registry htpasswd kcat; do
	command -v "$c" >/dev/null 2>&1 || missing+=("$c")
done
if [ "$update" = 1 ] || [ "${#missing[@]}" -gt 0 ]; then
	echo "== installing Debian test peers${missing[*]:+ (missing: ${missing[*]})}"
	sudo=""
	if [ "$(id -u)" != 0 ]; then
		if ! command -v sudo >/dev/null 2>&1; then
			echo "peers.sh: need root (or sudo) to apt-get install ${missing[*]}" >&2
			exit 1
		fi
		sudo="sudo"
	fi
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends redis-server docker-registry apache2-utils kcat >/dev/null
fi

echo "== Kubernetes test control plane (cached)"
bash hack/k8s-testbin/build.sh

echo "== pinned helm for the chart tests (cached)"
helm_bin="$HOME/.cache/flinkferry/tools/helm"
helm_version=$(grep 'helm.sh/helm/v3 ' hack/tools/go.mod | awk '{print $NF}')
if [ ! -x "$helm_bin" ] || [ "$(cat "$helm_bin.version" 2>/dev/null)" != "$helm_version" ]; then
	mkdir -p "$(dirname "$helm_bin")"
	go build -C hack/tools -trimpath -o "$helm_bin" helm.sh/helm/v3/cmd/helm
	echo "$helm_version" >"$helm_bin.version"
else
	echo "helm $helm_version already built"
fi
