package flinkferry_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSchemaRefusesTypos renders each values file of testdata/typos, every
// one with a misspelled key or a wrong type, and checks that helm refuses
// it with a schema error naming the key (its first line says what).
func TestSchemaRefusesTypos(t *testing.T) {
	files, err := filepath.Glob("testdata/typos/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/typos/*.yaml: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			// First line: "# want: <text of the schema error>".
			first, _, _ := strings.Cut(string(b), "\n")
			want, ok := strings.CutPrefix(first, "# want: ")
			if !ok {
				t.Fatalf("%s: first line must be `# want: <error text>`", f)
			}
			msg := helmFails(t, "template", "ff", ".", "-f", f)
			if !strings.Contains(msg, "don't meet the specifications of the schema") || !strings.Contains(msg, want) {
				t.Errorf("helm template -f %s failed with\n%s\nwant a schema error containing %q", f, msg, want)
			}
		})
	}
}

// TestSchemaIsClosedAndDescribed walks values.schema.json: every property
// has a type (or a $ref) and a description, and every object either lists
// its properties with additionalProperties false, or is a map whose values
// have a schema, or is a Kubernetes type left to the API server (marked
// with a $comment).
func TestSchemaIsClosedAndDescribed(t *testing.T) {
	b, err := os.ReadFile("values.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var root map[string]any
	if err := json.Unmarshal(b, &root); err != nil {
		t.Fatal(err)
	}
	var walk func(path string, n map[string]any)
	walk = func(path string, n map[string]any) {
		if _, ok := n["$ref"]; ok {
			if n["description"] == nil {
				t.Errorf("%s: $ref without a description", path)
			}
			return
		}
		if n["type"] == nil {
			t.Errorf("%s: no type", path)
		}
		if path != "" && n["description"] == nil {
			t.Errorf("%s: no description", path)
		}
		if types(n["type"]) != nil && slices.Contains(types(n["type"]), "object") {
			switch ap := n["additionalProperties"].(type) {
			case bool:
				if ap {
					t.Errorf("%s: additionalProperties true", path)
				}
			case map[string]any:
				walk(path+"[*]", ap)
			default:
				if c, _ := n["$comment"].(string); !strings.Contains(c, "API server validates") {
					t.Errorf("%s: object without additionalProperties", path)
				}
			}
		}
		if props, ok := n["properties"].(map[string]any); ok {
			for k, v := range props {
				walk(path+"."+k, v.(map[string]any))
			}
		}
		if items, ok := n["items"].(map[string]any); ok {
			walk(path+"[]", items)
		}
	}
	walk("", root)
	for k, v := range root["$defs"].(map[string]any) {
		walk("$defs."+k, v.(map[string]any))
	}
}

func types(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var s []string
		for _, x := range v {
			s = append(s, x.(string))
		}
		return s
	}
	return nil
}
