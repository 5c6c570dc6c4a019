package messages_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/messages/internal/schemagen"
)

// TestSchemasUpToDate regenerates the JSON Schemas in memory and compares
// them with the committed files.
func TestSchemasUpToDate(t *testing.T) {
	files, err := schemagen.Generate(".")
	if err != nil {
		t.Fatalf("Generate() = %v", err)
	}
	for name, want := range files {
		path := filepath.Join(schemagen.Dir, name)
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s is missing: run `go generate ./messages`", path)
			continue
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("%s is out of date: run `go generate ./messages` (-generated +committed):\n%s", path, diff)
		}
	}
	committed, err := filepath.Glob(filepath.Join(schemagen.Dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range committed {
		if _, ok := files[filepath.Base(path)]; !ok {
			t.Errorf("%s belongs to no event type: run `go generate ./messages`", path)
		}
	}
}

// TestSchemasDeterministic generates twice and expects the same bytes.
func TestSchemasDeterministic(t *testing.T) {
	a, err := schemagen.Generate(".")
	if err != nil {
		t.Fatalf("Generate() = %v", err)
	}
	b, err := schemagen.Generate(".")
	if err != nil {
		t.Fatalf("Generate() = %v", err)
	}
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("Generate() is not deterministic (-first +second):\n%s", diff)
	}
}

// TestControlSchemaRefusesUpgrade: ControlRequested.Validate refuses
// operation upgrade (a user upgrades by submitting), and so does the
// schema, though the events that report operations list it.
func TestControlSchemaRefusesUpgrade(t *testing.T) {
	s := compileSchema(t, messages.TypeControlRequested)
	for _, tt := range []struct {
		op   string
		want bool
	}{{"restart", true}, {"resume", true}, {"upgrade", false}} {
		doc := `{"request_id": "r-1", "job": {"namespace": "flink-jobs", "cluster_id": "orders"}, "operation": "` + tt.op + `"}`
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Validate(inst) == nil; got != tt.want {
			t.Errorf("schema accepts operation %s: %v, want %v", tt.op, got, tt.want)
		}
		_, err = messages.Decode(messages.TypeControlRequested, []byte(doc))
		if got := err == nil; got != tt.want {
			t.Errorf("Decode accepts operation %s: %v (%v), want %v", tt.op, got, err, tt.want)
		}
	}
}
