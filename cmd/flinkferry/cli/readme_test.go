package cli

import (
	"os"
	"strings"
	"testing"

	"github.com/flinkferry/flinkferry/internal/worker"
)

// TestReadmeDocumentsEveryVariable keeps README.md's configuration tables
// in step with the workers' configuration structs.
func TestReadmeDocumentsEveryVariable(t *testing.T) {
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := worker.Keys(allSpecs()...)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if !strings.Contains(string(readme), "`"+k+"`") && !strings.Contains(string(readme), "`"+k+"` /") {
			t.Errorf("README.md does not document %s", k)
		}
	}
}
