package flinksim_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"
)

// specPath is Flink's OpenAPI spec (v1.19), kept in the repository so a
// clone anywhere runs the contract; sharedSpecRelPath is the reference copy
// beside the repository, which the copy must equal when present.
const (
	specPath          = "testdata/flink-rest-api-v1.19.yml"
	sharedSpecRelPath = "shared/reference/flink-rest-api-v1.19.yml"
)

// loadSpec decodes Flink's OpenAPI spec. A missing spec fails the test:
// the contract must not be skipped silently.
func loadSpec(t testing.TB) map[string]any {
	t.Helper()
	b, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatalf("reading Flink's OpenAPI spec: %v", err)
	}
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		t.Fatalf("converting %s to JSON: %v", specPath, err)
	}
	var spec map[string]any
	if err := json.Unmarshal(j, &spec); err != nil {
		t.Fatalf("decoding %s: %v", specPath, err)
	}
	return spec
}

// TestSpecCopyIsTheReference checks the repository's copy of the spec
// against the reference beside the repository, when there is one.
func TestSpecCopyIsTheReference(t *testing.T) {
	ours, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if ref, err := os.ReadFile(filepath.Join(dir, sharedSpecRelPath)); err == nil {
			if !bytes.Equal(ours, ref) {
				t.Errorf("%s differs from %s: copy the reference again", specPath, filepath.Join(dir, sharedSpecRelPath))
			}
			return
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skipf("no %s beside the repository to compare with", sharedSpecRelPath)
		}
		dir = parent
	}
}

// obj returns m[key] as an object, or nil.
func obj(m map[string]any, key string) map[string]any {
	v, _ := m[key].(map[string]any)
	return v
}

func componentSchemas(spec map[string]any) map[string]any {
	return obj(obj(spec, "components"), "schemas")
}
