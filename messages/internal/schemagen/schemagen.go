// Package schemagen generates the JSON Schema of every event type of package
// messages from its Go types, struct tags and doc comments.
package schemagen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/invopop/jsonschema"

	"github.com/flinkferry/flinkferry/messages"
)

// Dir is the directory of the schema files, relative to package messages.
const Dir = "schema"

// BaseURL is the base of every schema's $id: the committed files as served
// by GitHub.
const BaseURL = "https://github.com/flinkferry/flinkferry/raw/main/messages/schema/"

const (
	importPath = "github.com/flinkferry/flinkferry/messages"
	comment    = "Generated from the Go types of package messages by `go generate ./messages`. Do not edit."
)

// Kubernetes label syntax, as in k8s.io/apimachinery/pkg/api/validate/content.
const (
	labelKeyPattern   = `^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`
	labelValuePattern = `^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`
)

// FileName returns the schema file name of an event type.
func FileName(eventType string) string { return eventType + ".json" }

// Generate returns the schema of every registered event type, keyed by
// FileName, each rendered deterministically: keys sorted, two-space
// indent, trailing newline. Descriptions come from the doc comments of the
// Go source in srcDir, which must be the relative path of package messages
// from the working directory ("." under go generate and go test).
func Generate(srcDir string) (map[string][]byte, error) {
	comments := &jsonschema.Reflector{}
	if err := comments.AddGoComments(importPath, srcDir); err != nil {
		return nil, fmt.Errorf("reading doc comments in %s: %w", srcDir, err)
	}
	for k, c := range comments.CommentMap {
		comments.CommentMap[k] = unwrap(c)
	}
	out := map[string][]byte{}
	for _, typ := range messages.Types() {
		ev, err := messages.NewEvent(typ)
		if err != nil {
			return nil, err
		}
		r := &jsonschema.Reflector{
			ExpandedStruct: true,
			// Commands are decoded strictly, events tolerantly: the schema says the same.
			AllowAdditionalProperties: !messages.IsCommand(typ),
			Mapper:                    mapType,
			CommentMap:                comments.CommentMap,
		}
		s := r.Reflect(ev)
		s.ID = jsonschema.ID(BaseURL + FileName(typ))
		s.Title = typ
		s.Comments = comment
		addRules(s, reflect.TypeOf(ev).Elem().Name())
		b, err := render(s)
		if err != nil {
			return nil, fmt.Errorf("rendering the schema of %s: %w", typ, err)
		}
		out[FileName(typ)] = b
	}
	return out, nil
}

// mapType gives the string enums of package messages their values.
func mapType(t reflect.Type) *jsonschema.Schema {
	switch t {
	case reflect.TypeFor[messages.Mode]():
		return enum(messages.Modes())
	case reflect.TypeFor[messages.RestExposedType]():
		return enum(messages.RestExposedTypes())
	case reflect.TypeFor[messages.RestoreMode]():
		return enum(messages.RestoreModes())
	case reflect.TypeFor[messages.Operation]():
		return enum(messages.Operations())
	case reflect.TypeFor[messages.SavepointFormat]():
		return enum([]messages.SavepointFormat{messages.FormatCanonical, messages.FormatNative})
	case reflect.TypeFor[messages.RestoreFrom]():
		return enum([]messages.RestoreFrom{messages.RestoreFromSavepoint, messages.RestoreFromCheckpoint, messages.RestoreFromPath, messages.RestoreFromNone})
	case reflect.TypeFor[messages.JobState]():
		// Open: a newer tracker may report new states.
		s := &jsonschema.Schema{Type: "string", Pattern: `^[A-Z][A-Z0-9_]*$`, MaxLength: ptr(64)}
		for _, st := range messages.JobStates() {
			s.Examples = append(s.Examples, string(st))
		}
		return s
	}
	return nil
}

func enum[T ~string](values []T) *jsonschema.Schema {
	s := &jsonschema.Schema{Type: "string"}
	for _, v := range values {
		s.Enum = append(s.Enum, string(v))
	}
	return s
}

// addRules adds what struct tags cannot express. root is the Go name of the
// root type; the others are in $defs.
func addRules(s *jsonschema.Schema, root string) {
	def := func(name string) *jsonschema.Schema {
		if name == root {
			return s
		}
		return s.Definitions[name]
	}
	if sr := def("SubmitRequested"); sr != nil {
		sr.AllOf = []*jsonschema.Schema{
			ifMode("session",
				&jsonschema.Schema{Required: []string{"session_cluster_id", "program"}},
				&jsonschema.Schema{Not: &jsonschema.Schema{Required: []string{"session_cluster_id"}}}),
			ifMode("session-cluster",
				&jsonschema.Schema{Not: &jsonschema.Schema{Required: []string{"program"}}},
				&jsonschema.Schema{Required: []string{"program"}}),
		}
	}
	if f := def("FlinkOptions"); f != nil {
		if p, ok := f.Properties.Get("dynamic_options"); ok {
			p.Items.Pattern = `^-D[^=\s]+=`
		}
	}
	if c := def("ControlRequested"); c != nil {
		// Operation is shared with the events that report operations,
		// upgrade included; a control request cannot ask for one.
		if p, ok := c.Properties.Get("operation"); ok {
			p.Enum = enum(messages.ControlOperations()).Enum
		}
		c.AllOf = []*jsonschema.Schema{ifOperation("dispose",
			&jsonschema.Schema{Required: []string{"savepoint_path"}},
			&jsonschema.Schema{Not: &jsonschema.Schema{Required: []string{"savepoint_path"}}})}
	}
	if rp := def("RestartPolicy"); rp != nil {
		rp.MinProperties = ptr(1)
		rp.DependentRequired = map[string][]string{"max_restarts": {"window_seconds"}, "window_seconds": {"max_restarts"}}
	}
	if j := def("Jar"); j != nil {
		j.OneOf = []*jsonschema.Schema{{Required: []string{"url"}}, {Required: []string{"maven"}}}
	}
	if d := def("Deployed"); d != nil {
		if p, ok := d.Properties.Get("object_uids"); ok {
			p.PropertyNames = &jsonschema.Schema{Pattern: `^[A-Z][A-Za-z0-9]*/[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`}
			p.AdditionalProperties.MinLength = ptr(1)
			p.AdditionalProperties.MaxLength = ptr(128)
		}
	}
	for _, name := range []string{"SubmitRequested", "ImageBuilt", "BuildFailed", "Deployed", "DeployFailed", "JobStatusChanged"} {
		d := def(name)
		if d == nil {
			continue
		}
		if p, ok := d.Properties.Get("labels"); ok {
			p.MaxProperties = ptr(32)
			p.PropertyNames = &jsonschema.Schema{Pattern: labelKeyPattern, MaxLength: ptr(317)}
			p.AdditionalProperties.Pattern = labelValuePattern
			p.AdditionalProperties.MaxLength = ptr(63)
		}
	}
}

// ifMode returns {"if": mode == m, "then": then, "else": els}.
func ifMode(m string, then, els *jsonschema.Schema) *jsonschema.Schema {
	return ifField("mode", m, then, els)
}

// ifOperation returns {"if": operation == op, "then": then, "else": els}.
func ifOperation(op string, then, els *jsonschema.Schema) *jsonschema.Schema {
	return ifField("operation", op, then, els)
}

// ifField returns {"if": field == value, "then": then, "else": els}.
func ifField(field, value string, then, els *jsonschema.Schema) *jsonschema.Schema {
	props := jsonschema.NewProperties()
	props.Set(field, &jsonschema.Schema{Const: value})
	return &jsonschema.Schema{
		If:   &jsonschema.Schema{Properties: props, Required: []string{field}},
		Then: then,
		Else: els,
	}
}

// unwrap joins the lines of each paragraph of a doc comment, so that
// descriptions do not carry the comment's line breaks.
func unwrap(comment string) string {
	paras := strings.Split(comment, "\n\n")
	for i, p := range paras {
		paras[i] = strings.Join(strings.Fields(p), " ")
	}
	return strings.Join(paras, "\n\n")
}

func ptr(n uint64) *uint64 { return &n }

// render marshals s with sorted keys, two-space indent, no HTML escaping
// and a trailing newline.
func render(s *jsonschema.Schema) ([]byte, error) {
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
