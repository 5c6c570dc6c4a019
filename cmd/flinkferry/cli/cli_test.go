package cli

import (
	"bytes"
	"strings"
	"testing"
)

func execute(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := New()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestVersion(t *testing.T) {
	out, err := execute(t, "version")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "flinkferry dev (commit ") {
		t.Errorf("version = %q", out)
	}
}

func TestWorkerHelpPrintsEnvironmentTable(t *testing.T) {
	for _, w := range []string{"build", "submit", "track"} {
		out, err := execute(t, "worker", w, "--help")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "FLINKFERRY_KAFKA_BROKERS") || !strings.Contains(out, "127.0.0.1:9092") {
			t.Errorf("worker %s --help lacks the environment table:\n%s", w, out)
		}
	}
	out, _ := execute(t, "worker", "build", "--help")
	if !strings.Contains(out, "FLINKFERRY_BUILD_REGISTRY_NAMESPACE") {
		t.Errorf("build help lacks its own variables")
	}
}

func TestWorkerRefusesBadConfiguration(t *testing.T) {
	t.Setenv("FLINKFERRY_BUILD_REGISTRY", "")
	_, err := execute(t, "worker", "build")
	if err == nil || !strings.Contains(err.Error(), "REGISTRY is required") {
		t.Errorf("worker build without a registry: %v", err)
	}
}
