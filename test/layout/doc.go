// Package layout checks the shape of the module rather than its
// behaviour: which packages may import which, and how large a source file
// may grow. It has no code outside its tests, which read the sources with
// go/parser (no go command, no build), so they run from any clone.
//
// The rules:
//
//   - nothing under internal/ depends on a worker (workers/...), directly
//     or through other packages of the module;
//   - in the build and submit workers only the Kafka wiring files
//     (handler.go, run.go) import internal/bus: the rest is pure work that
//     reports failures with package failure;
//   - no non-test source file outside hack/ is longer than 500 lines.
package layout
