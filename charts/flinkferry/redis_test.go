package flinkferry_test

import (
	"strings"
	"testing"

	"github.com/flinkferry/flinkferry/internal/kubetest"
)

// TestRedisClusterValues: redis.cluster.addrs becomes
// FLINKFERRY_REDIS_CLUSTER_ADDRS in the workers' ConfigMap; with a
// Sentinel master, or an address that is not host:port, helm refuses the
// values.
func TestRedisClusterValues(t *testing.T) {
	out := string(helm(t, "template", "x", ".", "--kube-version", kubetest.KubernetesVersion,
		"--set", "redis.cluster.addrs={redis-0.redis:6379,redis-1.redis:6379}"))
	if want := `FLINKFERRY_REDIS_CLUSTER_ADDRS: "redis-0.redis:6379,redis-1.redis:6379"`; !strings.Contains(out, want) {
		t.Errorf("rendered chart lacks %s", want)
	}
	if strings.Contains(out, "FLINKFERRY_REDIS_SENTINEL_MASTER") {
		t.Error("rendered chart sets a Sentinel master")
	}
	wantRefused(t, "exclude each other", "redis.cluster.addrs={a:6379}", "redis.sentinel.master=m", "redis.sentinel.addrs={s:26379}")
	wantRefused(t, "redis.cluster.addrs", "redis.cluster.addrs={nohostport}")
}
