package messages_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flinkferry/flinkferry/messages"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// examplePrefixes maps the file name prefix of an example to its event type.
var examplePrefixes = map[string]string{
	"submit":             messages.TypeSubmitRequested,
	"image-built":        messages.TypeImageBuilt,
	"build-failed":       messages.TypeBuildFailed,
	"deployed":           messages.TypeDeployed,
	"deploy-failed":      messages.TypeDeployFailed,
	"job-status-changed": messages.TypeJobStatusChanged,
	"control":            messages.TypeControlRequested,
	"control-refused":    messages.TypeControlRefused,
	"upgrade-requested":  messages.TypeUpgradeRequested,
}

// exampleType returns the event type of an example file, from its name.
func exampleType(t *testing.T, file string) string {
	t.Helper()
	name := strings.TrimSuffix(filepath.Base(file), ".json")
	best := ""
	for p := range examplePrefixes {
		if (name == p || strings.HasPrefix(name, p+"-")) && len(p) > len(best) {
			best = p
		}
	}
	if best == "" {
		t.Fatalf("example %s: name must start with one of the prefixes in examplePrefixes", file)
	}
	return examplePrefixes[best]
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("ReadFile() = %v", err)
	}
	return b
}

// load decodes testdata/valid/<name> into T.
func load[T messages.Event](t *testing.T, name string) T {
	t.Helper()
	path := filepath.Join("testdata", "valid", name)
	ev, err := messages.Decode(exampleType(t, path), readFile(t, path))
	if err != nil {
		t.Fatalf("Decode(%s) = %v", name, err)
	}
	typed, ok := ev.(T)
	if !ok {
		t.Fatalf("Decode(%s) = %T, want %T", name, ev, typed)
	}
	return typed
}

// fieldErrorsOf returns the FieldErrors inside err, nil for nil.
func fieldErrorsOf(t *testing.T, err error) messages.FieldErrors {
	t.Helper()
	if err == nil {
		return nil
	}
	var fe messages.FieldErrors
	if !errors.As(err, &fe) {
		t.Fatalf("error %q (%T) wraps no FieldErrors", err, err)
	}
	return fe
}

// fe builds FieldErrors from field, reason pairs.
func fe(pairs ...string) messages.FieldErrors {
	var out messages.FieldErrors
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, messages.FieldError{Field: pairs[i], Reason: pairs[i+1]})
	}
	return out
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("Marshal() = %v", err)
	}
	return b
}

// normalizeJSON re-encodes a JSON document with sorted keys and no blanks.
func normalizeJSON(t *testing.T, b []byte) []byte {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("Decode() = %v", err)
	}
	return mustMarshal(t, v)
}
