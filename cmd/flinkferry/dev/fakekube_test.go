package dev

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
)

// TestNewFakeClientset proves the fake does the API server's part the
// workers and the kubelet simulation rely on: names from generateName,
// uids and creation timestamps on create and on creation by server-side
// apply (kept by a later apply), and no REST client to probe.
func TestNewFakeClientset(t *testing.T) {
	ctx := context.Background()
	cs := NewFakeClientset()
	pods := cs.CoreV1().Pods(Namespace)
	seen := map[string]bool{}
	for range 2 {
		p, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "jm-"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("Create() = %v", err)
		}
		if len(p.Name) <= len("jm-") || seen[p.Name] || p.UID == "" || p.CreationTimestamp.IsZero() {
			t.Errorf("created pod name %q uid %q created %v; want a new generated name, a uid and a timestamp", p.Name, p.UID, p.CreationTimestamp)
		}
		seen[p.Name] = true
	}

	cms := cs.CoreV1().ConfigMaps(Namespace)
	opts := metav1.ApplyOptions{FieldManager: "flinkferry", Force: true}
	first, err := cms.Apply(ctx, corev1ac.ConfigMap("conf", Namespace).WithData(map[string]string{"a": "1"}), opts)
	if err != nil {
		t.Fatalf("Apply() = %v", err)
	}
	if first.UID == "" || first.CreationTimestamp.IsZero() {
		t.Errorf("applied ConfigMap uid %q created %v; want both set", first.UID, first.CreationTimestamp)
	}
	second, err := cms.Apply(ctx, corev1ac.ConfigMap("conf", Namespace).WithData(map[string]string{"a": "2"}), opts)
	if err != nil {
		t.Fatalf("second Apply() = %v", err)
	}
	if got, want := second.UID, first.UID; got != want {
		t.Errorf("uid after a second apply = %q, want %q", got, want)
	}
	if got, want := second.Data["a"], "2"; got != want {
		t.Errorf("data after a second apply = %q, want %q", got, want)
	}

	if rc := cs.Discovery().RESTClient(); rc != nil {
		t.Errorf("Discovery().RESTClient() = %v, want nil (no HTTP server)", rc)
	}
}

// TestFakeDeleteCollection: DeleteCollection deletes what its label
// selector matches, and nothing else (the track worker removes a
// suspended cluster's objects this way).
func TestFakeDeleteCollection(t *testing.T) {
	ctx := context.Background()
	cs := NewFakeClientset()
	cms := cs.CoreV1().ConfigMaps(Namespace)
	for name, l := range map[string]map[string]string{
		"ha":      {"app": "wc", "type": "flink-native-kubernetes", "configmap-type": "high-availability"},
		"conf":    {"app": "wc", "type": "flink-native-kubernetes"},
		"other":   {"app": "wc"},
		"another": {"app": "other", "type": "flink-native-kubernetes"},
	} {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := cms.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "app=wc,type=flink-native-kubernetes"}); err != nil {
		t.Fatalf("DeleteCollection() = %v", err)
	}
	list, err := cms.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, cm := range list.Items {
		left = append(left, cm.Name)
	}
	slices.Sort(left)
	if want := []string{"another", "other"}; !slices.Equal(left, want) {
		t.Fatalf("left %v, want %v", left, want)
	}
}
