package messages_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

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
