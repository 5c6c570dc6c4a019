package flinkferry_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flinkferry/flinkferry/internal/kubetest"
)

var update = flag.Bool("update", false, "rewrite the golden files (testdata/golden/*.yaml, README.md) from the chart")

// TestChartGolden renders the chart with each values file of
// testdata/values (release <file name>, namespace ff-<file name>), compares
// the output with testdata/golden/<file name>.yaml, and applies it
// server-side to the real API server. Regenerate with
// `go test ./charts/flinkferry -run Golden -update`.
func TestChartGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/values/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/values/*.yaml: %v", err)
	}
	cp := kubetest.Shared(t)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			out := render(t, name, f)
			golden := filepath.Join("testdata", "golden", name+".yaml")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("helm template -f %s differs from %s (run with -update and review the diff):\n%s", f, golden, firstDiff(string(want), string(out)))
			}
			applyManifests(t, cp, out, "ff-"+name)
		})
	}
}

// render runs helm template for release name with values file f.
func render(t *testing.T, name, f string) []byte {
	t.Helper()
	return helm(t, "template", name, ".", "--namespace", "ff-"+name, "--kube-version", kubetest.KubernetesVersion, "-f", f)
}

// firstDiff shows the first differing line of want and got.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  golden: %s\n  render: %s", i+1, wl, gl)
		}
	}
	return "(same lines)"
}
