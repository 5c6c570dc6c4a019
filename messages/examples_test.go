package messages_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/messages/internal/schemagen"
)

// compileSchema compiles the committed schema of eventType.
func compileSchema(t *testing.T, eventType string) *jsonschema.Schema {
	t.Helper()
	path := filepath.Join(schemagen.Dir, schemagen.FileName(eventType))
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(readFile(t, path)))
	if err != nil {
		t.Fatalf("parsing %s: %v", path, err)
	}
	c := jsonschema.NewCompiler()
	url := schemagen.BaseURL + schemagen.FileName(eventType)
	if err := c.AddResource(url, doc); err != nil {
		t.Fatalf("AddResource(%s) = %v", path, err)
	}
	s, err := c.Compile(url)
	if err != nil {
		t.Fatalf("compiling %s: %v", path, err)
	}
	return s
}

// TestValidExamples checks that every valid example satisfies its JSON
// Schema and decodes and validates with Decode.
func TestValidExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "valid", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no examples in testdata/valid")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			typ := exampleType(t, f)
			data := readFile(t, f)
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("parsing: %v", err)
			}
			if err := compileSchema(t, typ).Validate(inst); err != nil {
				t.Fatalf("schema validation: %v", err)
			}
			if _, err := messages.Decode(typ, data); err != nil {
				t.Fatalf("Decode() = %v", err)
			}
		})
	}
}

// TestInvalidExamples checks that every invalid example fails Decode with
// exactly the FieldErrors of its .golden file. Run with -update to rewrite
// the golden files.
func TestInvalidExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "invalid", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no examples in testdata/invalid")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := messages.Decode(exampleType(t, f), readFile(t, f))
			if got, want := messages.ReasonOf(err), messages.ReasonValidationFailed; got != want {
				t.Fatalf("Decode() error = %v, reason %q, want %q", err, got, want)
			}
			var fe messages.FieldErrors
			if !errors.As(err, &fe) {
				t.Fatalf("Decode() error %v wraps no FieldErrors", err)
			}
			got := fe.Error() + "\n"
			golden := strings.TrimSuffix(f, ".json") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if want := string(readFile(t, golden)); got != want {
				t.Fatalf("FieldErrors differ from %s (run go test ./messages -update to accept):\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

// TestInvalidExamplesHaveGoldens catches a golden file left behind.
func TestInvalidExamplesHaveGoldens(t *testing.T) {
	goldens, err := filepath.Glob(filepath.Join("testdata", "invalid", "*.golden"))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range goldens {
		if _, err := os.Stat(strings.TrimSuffix(g, ".golden") + ".json"); err != nil {
			t.Errorf("%s has no example: %v", g, err)
		}
	}
}

// TestSchemaRules checks the rules the generator adds beyond struct tags,
// and that the schemas agree with Decode on strictness.
func TestSchemaRules(t *testing.T) {
	tests := []struct {
		name      string
		eventType string
		data      string
		wantValid bool
	}{
		{"minimal application", messages.TypeSubmitRequested, submitJSON("", ""), true},
		{"unknown field in a command", messages.TypeSubmitRequested, submitJSON("", `,"clusterId":"x"`), false},
		{"unknown field in an event", messages.TypeDeployFailed, deployFailedJSON(`,"extra":{"a":1}`), true},
		{"application without program", messages.TypeSubmitRequested,
			`{"request_id":"r1","job":{"namespace":"ns","cluster_id":"c1"},"mode":"application","flink":{"version":"1.20"}}`, false},
		{"application with session_cluster_id", messages.TypeSubmitRequested, submitJSON(`,"session_cluster_id":"s1"`, ""), false},
		{"session without session_cluster_id", messages.TypeSubmitRequested, strings.Replace(submitJSON("", ""), `"application"`, `"session"`, 1), false},
		{"session", messages.TypeSubmitRequested, strings.Replace(submitJSON(`,"session_cluster_id":"s1"`, ""), `"application"`, `"session"`, 1), true},
		{"session-cluster with program", messages.TypeSubmitRequested, strings.Replace(submitJSON("", ""), `"application"`, `"session-cluster"`, 1), false},
		{"jar with url and maven", messages.TypeSubmitRequested, strings.Replace(submitJSON("", ""), `"url":`, `"maven":"a:b:1","url":`, 1), false},
		{"dynamic option without -D", messages.TypeSubmitRequested, strings.Replace(submitJSON("", ""), `"version":"1.20"`, `"version":"1.20","dynamic_options":["a=b"]`, 1), false},
		{"label value too long", messages.TypeSubmitRequested, submitJSON(`,"labels":{"team":"`+strings.Repeat("a", 64)+`"}`, ""), false},
		{"lowercase job state", messages.TypeJobStatusChanged,
			`{"request_id":"r1","job":{"namespace":"ns","cluster_id":"c1"},"mode":"session-cluster","to":"running","time":"2025-06-01T10:00:00Z"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inst, err := jsonschema.UnmarshalJSON(strings.NewReader(tt.data))
			if err != nil {
				t.Fatalf("parsing: %v", err)
			}
			err = compileSchema(t, tt.eventType).Validate(inst)
			if got, want := err == nil, tt.wantValid; got != want {
				t.Fatalf("schema validation = %v, want valid %v", err, want)
			}
		})
	}
}
