package flinkferry_test

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/flinkferry/flinkferry/internal/kubetest"
)

// rendered decodes helm template output into its objects, by kind/name.
func rendered(t *testing.T, out []byte) map[string]*unstructured.Unstructured {
	t.Helper()
	objs := map[string]*unstructured.Unstructured{}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(out), 4096)
	for {
		var obj unstructured.Unstructured
		if err := dec.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return objs
			}
			t.Fatal(err)
		}
		if len(obj.Object) > 0 {
			objs[obj.GetKind()+"/"+obj.GetName()] = &obj
		}
	}
}

// TestAutoscaling: a ScaledObject has one Kafka trigger per topic the
// worker consumes, in its consumer group (FLINKFERRY_KAFKA_CONSUMER_GROUP
// when set); the autoscaled Deployment leaves replicas to it; its budget
// follows the autoscaler's minimum; KEDA and HPA together, or a maximum
// above the partitions, are refused at render time.
func TestAutoscaling(t *testing.T) {
	out := helm(t, "template", "keda", ".", "--namespace", "ff-keda", "--kube-version", kubetest.KubernetesVersion,
		"-f", "testdata/values/keda.yaml", "--set", "workers.submit.env.FLINKFERRY_KAFKA_CONSUMER_GROUP=team-a-submit")
	objs := rendered(t, out)

	type trigger struct{ group, topic, lag string }
	triggers := func(name string) (got []trigger) {
		so := objs["ScaledObject/keda-flinkferry-"+name]
		if so == nil {
			t.Fatalf("no ScaledObject for %s", name)
		}
		ts, _, _ := unstructured.NestedSlice(so.Object, "spec", "triggers")
		for _, x := range ts {
			m := x.(map[string]any)["metadata"].(map[string]any)
			got = append(got, trigger{m["consumerGroup"].(string), m["topic"].(string), m["lagThreshold"].(string)})
		}
		return got
	}
	if got, want := triggers("build"), []trigger{{"flinkferry-build", "flinkferry.submit", "20"}}; !slices.Equal(got, want) {
		t.Errorf("build triggers = %v, want %v", got, want)
	}
	if got, want := triggers("submit"), []trigger{{"team-a-submit", "flinkferry.image-built", "20"}}; !slices.Equal(got, want) {
		t.Errorf("submit triggers = %v, want %v", got, want)
	}
	so := objs["ScaledObject/keda-flinkferry-build"]
	if min := num(so, "spec", "minReplicaCount"); min != 2 {
		t.Errorf("build minReplicaCount = %d, want 2", min)
	}
	if max := num(so, "spec", "maxReplicaCount"); max != 16 {
		t.Errorf("build maxReplicaCount = %d, want 16", max)
	}
	if max := num(objs["ScaledObject/keda-flinkferry-submit"], "spec", "maxReplicaCount"); max != 24 {
		t.Errorf("submit maxReplicaCount = %d, want kafka.partitions 24", max)
	}
	hpa := objs["HorizontalPodAutoscaler/keda-flinkferry-track"]
	if hpa == nil || objs["ScaledObject/keda-flinkferry-track"] != nil {
		t.Fatalf("track: want an HPA and no ScaledObject")
	}
	for _, name := range []string{"build", "submit", "track"} {
		if _, found, _ := unstructured.NestedFieldNoCopy(objs["Deployment/keda-flinkferry-"+name].Object, "spec", "replicas"); found {
			t.Errorf("%s Deployment sets replicas; the autoscaler owns them", name)
		}
	}
	if objs["PodDisruptionBudget/keda-flinkferry-submit"] != nil {
		t.Errorf("submit scales from 1 pod: a budget would block drains")
	}
	if objs["PodDisruptionBudget/keda-flinkferry-build"] == nil || objs["PodDisruptionBudget/keda-flinkferry-track"] == nil {
		t.Errorf("build and track keep 2 pods at least: want their budgets")
	}
	if objs["TriggerAuthentication/keda-flinkferry-build"+"-kafka"] == nil {
		t.Errorf("no TriggerAuthentication for the SASL credentials")
	}

	for _, tc := range []struct {
		name string
		set  []string
		want string
	}{
		{"both", []string{"workers.build.keda.enabled=true", "workers.build.hpa.enabled=true"}, "workers.build: keda.enabled and hpa.enabled are exclusive"},
		{"keda above partitions", []string{"workers.submit.keda.enabled=true", "workers.submit.keda.maxReplicaCount=13"}, "workers.submit.keda.maxReplicaCount 13 is above kafka.partitions 12"},
		{"hpa above partitions", []string{"kafka.partitions=6", "workers.track.hpa.enabled=true", "workers.track.hpa.maxReplicas=8"}, "workers.track.hpa.maxReplicas 8 is above kafka.partitions 6"},
		{"SASL without its Secret", []string{"kafka.sasl.mechanism=PLAIN", "existingSecret=all", "workers.build.keda.enabled=true"}, "workers.build.keda: KEDA reads the lag with SASL PLAIN and needs its credentials: set kafka.sasl.existingSecret"},
		{"min above max", []string{"workers.alert.enabled=true", "workers.alert.existingRulesSecret=r", "workers.alert.keda.enabled=true", "workers.alert.keda.minReplicaCount=5", "workers.alert.keda.maxReplicaCount=4"}, "workers.alert.keda.minReplicaCount 5 is above its maximum 4"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantRefused(t, tc.want, tc.set...) })
	}
}

// num reads a number of a decoded object (JSON numbers decode as float64).
func num(obj *unstructured.Unstructured, fields ...string) int64 {
	v, _, _ := unstructured.NestedFieldNoCopy(obj.Object, fields...)
	switch n := v.(type) {
	case int64:
		return n
	case float64:
		return int64(n)
	}
	return -1
}
