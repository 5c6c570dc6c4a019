package flinkferry_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/flinkferry/flinkferry/internal/kubetest"
)

// TestMonitoring: the ServiceMonitor selects exactly the workers' ops
// Services, on a port they have; every flinkferry metric the
// PrometheusRule reads is one a worker declares (workers/*/metrics.go,
// internal/bus/metrics.go), so a renamed metric fails here instead of
// silencing an alert.
func TestMonitoring(t *testing.T) {
	const release, ns = "monitoring", "ff-monitoring"
	out := render(t, release, "testdata/values/monitoring.yaml")
	cp := kubetest.Shared(t)
	applyManifests(t, cp, out, ns)
	objs := rendered(t, out)

	sm := objs["ServiceMonitor/"+release+"-flinkferry"]
	if sm == nil {
		t.Fatal("no ServiceMonitor")
	}
	ml, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
	svcs, err := cp.Clientset().CoreV1().Services(ns).List(context.Background(), metav1.ListOptions{LabelSelector: labels.SelectorFromSet(ml).String()})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range svcs.Items {
		names = append(names, s.Name)
		if len(s.Spec.Ports) != 1 || s.Spec.Ports[0].Name != "ops" {
			t.Errorf("Service %s ports %+v, want the ops port the ServiceMonitor scrapes", s.Name, s.Spec.Ports)
		}
	}
	slices.Sort(names)
	want := []string{release + "-flinkferry-alert-ops", release + "-flinkferry-build-ops", release + "-flinkferry-submit-ops", release + "-flinkferry-track-ops"}
	if !slices.Equal(names, want) {
		t.Errorf("ServiceMonitor selects %v, want %v", names, want)
	}

	declared := declaredMetrics(t)
	rule := objs["PrometheusRule/"+release+"-flinkferry"]
	groups, _, _ := unstructured.NestedSlice(rule.Object, "spec", "groups")
	var alerts []string
	used := regexp.MustCompile(`\bflinkferry_[a-z_]+`)
	for _, g := range groups {
		rules, _ := g.(map[string]any)["rules"].([]any)
		for _, r := range rules {
			m := r.(map[string]any)
			alerts = append(alerts, m["alert"].(string))
			for _, metric := range used.FindAllString(m["expr"].(string), -1) {
				base := metric
				for _, suffix := range []string{"_bucket", "_count", "_sum"} {
					base = strings.TrimSuffix(base, suffix)
				}
				if !declared[base] {
					t.Errorf("alert %s reads %s, which no worker declares", m["alert"], metric)
				}
			}
		}
	}
	for _, a := range []string{"FlinkferryWorkerDown", "FlinkferryDeadLetters", "FlinkferryPollErrors", "FlinkferryConsumerLag", "FlinkferryTrackingStale", "FlinkferryShardsUnowned", "FlinkferryNotificationsFailing"} {
		if !slices.Contains(alerts, a) {
			t.Errorf("alerts %v lack %s", alerts, a)
		}
	}
	if got := strings.Count(string(out), "< 64"); got != 1 {
		t.Errorf("FlinkferryShardsUnowned should compare with the track worker's 64 shards (FLINKFERRY_TRACK_SHARDS)")
	}
}

// declaredMetrics returns the metric names the workers and the bus
// register: flinkferry_<subsystem>_<name> from their metrics.go.
func declaredMetrics(t *testing.T) map[string]bool {
	t.Helper()
	files, _ := filepath.Glob("../../workers/*/metrics.go")
	files = append(files, "../../internal/bus/metrics.go")
	re := regexp.MustCompile(`Namespace: "flinkferry",(?: Subsystem: "([a-z]+)",)? Name: "([a-z_]+)"`)
	out := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			name := "flinkferry_" + m[2]
			if m[1] != "" {
				name = "flinkferry_" + m[1] + "_" + m[2]
			}
			out[name] = true
		}
	}
	if len(out) < 20 {
		t.Fatalf("found %d declared metrics in %v; the pattern no longer matches metrics.go", len(out), files)
	}
	return out
}
