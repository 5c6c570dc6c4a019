package flinkferry_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestREADMEIsGenerated checks that README.md is what the generator makes
// of values.schema.json and values.yaml: one row per value, with its type,
// default ("unset" for optional Kubernetes fields values.yaml leaves out)
// and description. `go test ./charts/flinkferry -run README -update`
// rewrites it.
func TestREADMEIsGenerated(t *testing.T) {
	got, err := generateREADME("values.schema.json", "values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("README.md", got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("README.md is out of date with values.schema.json / values.yaml (run `go test ./charts/flinkferry -run README -update`):\n%s", firstDiff(string(want), string(got)))
	}
}

// schemaNode is the part of a JSON schema the README shows; properties
// keep the order of the file.
type schemaNode struct {
	Ref                  string                 `json:"$ref"`
	Type                 any                    `json:"type"`
	Description          string                 `json:"description"`
	Enum                 []any                  `json:"enum"`
	Properties           orderedProps           `json:"properties"`
	AdditionalProperties json.RawMessage        `json:"additionalProperties"`
	Items                *schemaNode            `json:"items"`
	Defs                 map[string]*schemaNode `json:"$defs"`
}

type orderedProps []struct {
	Name string
	Node *schemaNode
}

func (p *orderedProps) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil { // {
		return err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		var n schemaNode
		if err := dec.Decode(&n); err != nil {
			return err
		}
		*p = append(*p, struct {
			Name string
			Node *schemaNode
		}{tok.(string), &n})
	}
	return nil
}

// generateREADME renders the chart README from the schema and the defaults.
func generateREADME(schemaFile, valuesFile string) ([]byte, error) {
	sb, err := os.ReadFile(schemaFile)
	if err != nil {
		return nil, err
	}
	var root schemaNode
	if err := json.Unmarshal(sb, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", schemaFile, err)
	}
	vb, err := os.ReadFile(valuesFile)
	if err != nil {
		return nil, err
	}
	var values map[string]any
	if err := yaml.Unmarshal(vb, &values); err != nil {
		return nil, fmt.Errorf("%s: %w", valuesFile, err)
	}

	var b bytes.Buffer
	b.WriteString(readmeHead)
	b.WriteString("| Key | Type | Default | Description |\n|---|---|---|---|\n")
	var rows func(prefix string, n *schemaNode, defaults any) error
	rows = func(prefix string, n *schemaNode, defaults any) error {
		for _, p := range n.Properties {
			key := p.Name
			if prefix != "" {
				key = prefix + "." + p.Name
			}
			node := p.Node
			desc := node.Description
			if node.Ref != "" {
				d, ok := root.Defs[strings.TrimPrefix(node.Ref, "#/$defs/")]
				if !ok {
					return fmt.Errorf("%s: unknown $ref %s", key, node.Ref)
				}
				node = d
			}
			dm, _ := defaults.(map[string]any)
			def, set := dm[p.Name]
			if len(node.Properties) > 0 && string(node.AdditionalProperties) == "false" {
				if err := rows(key, node, def); err != nil {
					return err
				}
				continue
			}
			if len(node.Enum) > 0 {
				var e []string
				for _, v := range node.Enum {
					e = append(e, fmt.Sprintf("`%v`", v))
				}
				desc += " (one of " + strings.Join(e, ", ") + ")"
			}
			shown := "unset"
			if set {
				dj, err := json.Marshal(def)
				if err != nil {
					return err
				}
				shown = "`" + cell(string(dj)) + "`"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", key, typeName(node), shown, cell(desc))
			// The fields of each item of an array of closed objects.
			if it := node.Items; it != nil && len(it.Properties) > 0 && string(it.AdditionalProperties) == "false" {
				if err := rows(key+"[]", it, nil); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := rows("", &root, values); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func typeName(n *schemaNode) string {
	t := strings.Join(types(n.Type), " or ")
	switch {
	case t == "array" && n.Items != nil:
		return "array of " + strings.Join(types(n.Items.Type), " or ")
	case t == "object" && len(n.AdditionalProperties) > 0 && string(n.AdditionalProperties) != "false":
		var v schemaNode
		if json.Unmarshal(n.AdditionalProperties, &v) == nil && v.Type != nil {
			return "map of " + strings.Join(types(v.Type), " or ")
		}
	}
	return t
}

// cell escapes text for a markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

const readmeHead = `# flinkferry chart

<!-- Generated from values.schema.json and values.yaml by readme_test.go:
     go test ./charts/flinkferry -run README -update -->

Runs the flinkferry workers (build, submit, track, and optionally alert) as
Deployments, one per worker, with a ServiceAccount, an ops Service
(` + "`/metrics`, `/healthz`, `/readyz`" + `) and least-privilege Roles in every namespace
Flink jobs run in, where it also gives Flink's JobManagers their own
ServiceAccount and Role. Optional: KEDA or HPA scaling per worker, a
ServiceMonitor and alert rules, NetworkPolicies, several Kubernetes clusters
from kubeconfig Secrets, a topics hook Job. The worker variables are
documented in the repository's README.md; values below set the common ones,
` + "`env`" + ` and ` + "`workers.<name>.env`" + ` pass any other, and every credential comes
from an existing Secret. Helm refuses values the schema
(` + "`values.schema.json`" + `) does not know. Running it in production:
` + "`docs/operations.md`" + `. Rows ` + "`x[].y`" + ` are fields of each item of the list ` + "`x`" + `.

` + "```sh\nhelm install flinkferry charts/flinkferry --namespace flinkferry --create-namespace \\\n  --set existingSecret=flinkferry-secrets\n```" + `

## Values

`
