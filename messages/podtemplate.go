package messages

import (
	"encoding/json"
	"strings"

	"sigs.k8s.io/yaml"
)

// maxPodTemplateBytes bounds each pod template.
const maxPodTemplateBytes = 256 << 10

// checkPodTemplate checks the YAML of a pod template: at most 256 KiB, a
// mapping without duplicate keys, whose kind, if given, is Pod. Deeper
// checks (the flink-main-container, what Flink overwrites) belong to the
// submit worker.
func checkPodTemplate(v *validator, p, tmpl string) {
	if tmpl == "" {
		return
	}
	if len(tmpl) > maxPodTemplateBytes {
		v.addf(p, "must be at most %d bytes, got %d", maxPodTemplateBytes, len(tmpl))
		return
	}
	js, err := yaml.YAMLToJSONStrict([]byte(tmpl))
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")
		v.addf(p, "invalid YAML: %s", oneLine(msg))
		return
	}
	var doc any
	if err := json.Unmarshal(js, &doc); err != nil {
		v.addf(p, "invalid YAML: %s", oneLine(err.Error()))
		return
	}
	m, ok := doc.(map[string]any)
	if !ok {
		v.addf(p, "must be a YAML mapping describing a Pod, got %s", jsonKind(doc))
		return
	}
	if kind, ok := m["kind"]; ok && kind != "Pod" {
		v.addf(p, "kind must be Pod, got %s", jsonValueString(kind))
	}
}

// jsonKind names the JSON type of a value decoded into any.
func jsonKind(x any) string {
	switch x.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	default:
		return "number"
	}
}

// jsonValueString renders a decoded JSON value for an error message.
func jsonValueString(x any) string {
	b, err := json.Marshal(x)
	if err != nil {
		return jsonKind(x)
	}
	return string(b)
}
