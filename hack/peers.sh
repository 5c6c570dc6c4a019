#!/usr/bin/env bash
# peers.sh installs and builds every test peer the suite needs, skipping
# what is already there, so `go tool task test` passes on a fresh machine:
#   - Debian packages: redis-server, redis-cli (redis-tools: it creates the
#     Redis Cluster of the cluster tests), docker-registry, htpasswd
#     (apache2-utils) and kcat, with apt-get (as root, or through sudo);
#   - kube-apiserver, kube-controller-manager and etcd (hack/k8s-testbin);
#   - the pinned helm (hack/tools) in ~/.cache/flinkferry/tools;
#   - Alertmanager and mailpit (alert worker tests), from the Go module
#     proxy, in the same directory.
#
#   bash hack/peers.sh            # install/build what is missing
#   bash hack/peers.sh --update   # always apt-get update + install (CI)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

update=0
[ "${1:-}" = "--update" ] && update=1

missing=()
for c in redis-server redis-cli docker-registry htpasswd kcat; do
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
	$sudo apt-get install -y -qq --no-install-recommends redis-server redis-tools docker-registry apache2-utils kcat >/dev/null
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

# The alert worker's peers (issue 17), built from the Go module proxy into
# ~/.cache/flinkferry/tools and stamped with their version.
tools="$HOME/.cache/flinkferry/tools"
alertmanager_version=v0.35.0
mailpit_version=v1.33.1

echo "== Alertmanager $alertmanager_version for the alert worker tests (cached)"
if [ ! -x "$tools/alertmanager" ] || [ "$(cat "$tools/alertmanager.version" 2>/dev/null)" != "$alertmanager_version" ]; then
	mkdir -p "$tools"
	# The module does not ship its web UI's built assets (ui/app/dist, which
	# ui/web.go embeds), so `go install` fails: build a copy of the module
	# with a placeholder page; the API the tests use is unaffected.
	src=$(go mod download -json "github.com/prometheus/alertmanager@$alertmanager_version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	if [ -z "$src" ] || [ ! -d "$src" ]; then
		echo "peers.sh: could not download github.com/prometheus/alertmanager@$alertmanager_version" >&2
		exit 1
	fi
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	cp -r "$src/." "$work/"
	chmod -R u+w "$work"
	mkdir -p "$work/ui/app/dist/elm" "$work/ui/app/dist/mantine"
	for d in elm mantine; do
		echo '<!doctype html><title>Alertmanager</title><p>UI not built (flinkferry test peer)</p>' >"$work/ui/app/dist/$d/index.html"
	done
	(cd "$work" && GOFLAGS=-mod=mod go build -trimpath -o "$tools/alertmanager" ./cmd/alertmanager)
	rm -rf "$work"
	trap - EXIT
	echo "$alertmanager_version" >"$tools/alertmanager.version"
else
	echo "alertmanager $alertmanager_version already built"
fi

echo "== mailpit $mailpit_version (SMTP server) for the alert worker tests (cached)"
if [ ! -x "$tools/mailpit" ] || [ "$(cat "$tools/mailpit.version" 2>/dev/null)" != "$mailpit_version" ]; then
	mkdir -p "$tools"
	GOBIN="$tools" go install -trimpath "github.com/axllent/mailpit@$mailpit_version"
	echo "$mailpit_version" >"$tools/mailpit.version"
else
	echo "mailpit $mailpit_version already built"
fi

echo "== promtool for the chart's alert rules (Debian's prometheus package, extracted only: no server installed; cached)"
if [ ! -x "$HOME/.cache/flinkferry/tools/promtool" ]; then
	mkdir -p "$HOME/.cache/flinkferry/tools"
	deb=$(mktemp -d)
	if ! (cd "$deb" && apt-get download -qq prometheus 2>/dev/null); then
		${sudo:-} apt-get update -qq
		(cd "$deb" && apt-get download -qq prometheus)
	fi
	dpkg-deb -x "$deb"/prometheus_*.deb "$deb/x"
	install -m 0755 "$deb/x/usr/bin/promtool" "$HOME/.cache/flinkferry/tools/promtool"
	rm -rf "$deb"
else
	echo "promtool already there"
fi
