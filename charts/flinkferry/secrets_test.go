package flinkferry_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/flinkferry/flinkferry/internal/worker"
	"github.com/flinkferry/flinkferry/workers/alert"
	"github.com/flinkferry/flinkferry/workers/build"
	"github.com/flinkferry/flinkferry/workers/submit"
	"github.com/flinkferry/flinkferry/workers/track"
)

// TestEnvNamesAreKnown: every FLINKFERRY_ variable any values file makes
// the chart set (env ConfigMap, container env, Secret references) is one
// a worker declares; a worker refuses unknown ones at start.
func TestEnvNamesAreKnown(t *testing.T) {
	known, err := worker.Keys(&build.Config{}, &submit.Config{}, &track.Config{}, &alert.Config{})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("testdata/values/*.yaml")
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		for key, obj := range rendered(t, render(t, name, f)) {
			var names []string
			switch obj.GetKind() {
			case "ConfigMap":
				if !strings.HasSuffix(obj.GetName(), "-env") {
					continue
				}
				data, _ := obj.Object["data"].(map[string]any)
				for k := range data {
					names = append(names, k)
				}
			case "Deployment":
				for _, e := range deploymentOf(t, obj.Object).Spec.Template.Spec.Containers[0].Env {
					names = append(names, e.Name)
				}
			}
			for _, n := range names {
				if !slices.Contains(known, n) {
					t.Errorf("%s: %s sets %s, which no worker declares", f, key, n)
				}
			}
		}
	}
}

// TestExistingSecrets: with testdata/values/existing-secrets.yaml every
// credential is a reference to an existing Secret, given to the workers
// that use it and to no other, and no value of values.yaml's credentials
// appears in the output.
func TestExistingSecrets(t *testing.T) {
	objs := rendered(t, render(t, "existing-secrets", "testdata/values/existing-secrets.yaml"))
	want := map[string][]string{
		"build":  {"FLINKFERRY_BUILD_REGISTRY_PASSWORD=registry-login/password", "FLINKFERRY_BUILD_REGISTRY_USERNAME=registry-login/username", "FLINKFERRY_KAFKA_SASL_PASSWORD=kafka-user-flinkferry/sasl.jaas.password", "FLINKFERRY_KAFKA_SASL_USERNAME=kafka-user-flinkferry/user"},
		"submit": {"FLINKFERRY_KAFKA_SASL_PASSWORD=kafka-user-flinkferry/sasl.jaas.password", "FLINKFERRY_KAFKA_SASL_USERNAME=kafka-user-flinkferry/user", "FLINKFERRY_SUBMIT_REGISTRY_PASSWORD=registry-login/password", "FLINKFERRY_SUBMIT_REGISTRY_USERNAME=registry-login/username"},
		"track":  {"FLINKFERRY_KAFKA_SASL_PASSWORD=kafka-user-flinkferry/sasl.jaas.password", "FLINKFERRY_KAFKA_SASL_USERNAME=kafka-user-flinkferry/user", "FLINKFERRY_REDIS_PASSWORD=redis-auth/redis-password", "FLINKFERRY_REDIS_SENTINEL_PASSWORD=redis-auth/sentinel-password"},
		"alert":  {"FLINKFERRY_KAFKA_SASL_PASSWORD=kafka-user-flinkferry/sasl.jaas.password", "FLINKFERRY_KAFKA_SASL_USERNAME=kafka-user-flinkferry/user", "FLINKFERRY_REDIS_PASSWORD=redis-auth/redis-password", "FLINKFERRY_REDIS_SENTINEL_PASSWORD=redis-auth/sentinel-password"},
	}
	for w, refs := range want {
		d := deploymentOf(t, objs["Deployment/existing-secrets-flinkferry-"+w].Object)
		c := d.Spec.Template.Spec.Containers[0]
		var got []string
		env := map[string]string{}
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				got = append(got, e.Name+"="+e.ValueFrom.SecretKeyRef.Name+"/"+e.ValueFrom.SecretKeyRef.Key)
			} else {
				env[e.Name] = e.Value
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, refs) {
			t.Errorf("%s secret references = %v, want %v", w, got, refs)
		}
		if len(c.EnvFrom) < 2 || c.EnvFrom[1].SecretRef == nil || c.EnvFrom[1].SecretRef.Name != "flinkferry-extra" {
			t.Errorf("%s envFrom = %+v, want the env ConfigMap and flinkferry-extra", w, c.EnvFrom)
		}
		if w == "submit" && env["FLINKFERRY_SUBMIT_REGISTRY"] != "registry.internal:5000" {
			t.Errorf("submit FLINKFERRY_SUBMIT_REGISTRY = %q, want the build worker's registry the credentials are for", env["FLINKFERRY_SUBMIT_REGISTRY"])
		}
		if w == "alert" {
			var rules string
			for _, v := range d.Spec.Template.Spec.Volumes {
				if v.Name == "rules" && v.Secret != nil {
					rules = v.Secret.SecretName
				}
			}
			if rules != "flinkferry-alert-rules" {
				t.Errorf("alert rules volume from Secret %q, want flinkferry-alert-rules", rules)
			}
		}
	}
	if objs["ConfigMap/existing-secrets-flinkferry-alert-rules"] != nil {
		t.Errorf("the rules file is in a Secret: no rules ConfigMap wanted")
	}
}

func deploymentOf(t *testing.T, u map[string]any) *appsv1.Deployment {
	t.Helper()
	var d appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u, &d); err != nil {
		t.Fatal(err)
	}
	return &d
}
