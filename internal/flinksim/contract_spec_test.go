package flinksim_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"
)

const specRelPath = "shared/reference/flink-rest-api-v1.19.yml"

// loadSpec finds Flink's OpenAPI spec by walking up from the working
// directory (shared/ sits beside the repository) and decodes it. A missing
// spec fails the test: the contract must not be skipped silently.
func loadSpec(t testing.TB) map[string]any {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, specRelPath)
		if b, err := os.ReadFile(p); err == nil {
			j, err := yaml.YAMLToJSON(b)
			if err != nil {
				t.Fatalf("converting %s to JSON: %v", p, err)
			}
			var spec map[string]any
			if err := json.Unmarshal(j, &spec); err != nil {
				t.Fatalf("decoding %s: %v", p, err)
			}
			return spec
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("Flink's OpenAPI spec %s not found in any parent of the working directory; "+
				"the contract test needs the shared/ folder beside the repository", specRelPath)
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
