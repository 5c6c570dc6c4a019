// Command schemagen writes the JSON Schema files of package messages into
// messages/schema. Run it with `go generate ./messages`.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/flinkferry/flinkferry/messages/internal/schemagen"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
}

// run regenerates every schema file and removes those of types that no
// longer exist. It must run in the messages directory, as go generate does.
func run() error {
	files, err := schemagen.Generate(".")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(schemagen.Dir, 0o755); err != nil {
		return err
	}
	old, err := filepath.Glob(filepath.Join(schemagen.Dir, "*.json"))
	if err != nil {
		return err
	}
	for _, path := range old {
		if _, ok := files[filepath.Base(path)]; !ok {
			if err := os.Remove(path); err != nil {
				return err
			}
		}
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(schemagen.Dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
