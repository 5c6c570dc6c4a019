package cli

import (
	"bufio"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/dev"
	"github.com/flinkferry/flinkferry/internal/devstate"
	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/internal/testenv"
)

// TestDevStartsAndStops runs `flinkferry dev` in-process on free ports with
// the built-in demo (no examples dir): it prints the banner and the ready
// line, writes the state file the other commands read, follows the demo
// job to RUNNING, and on interrupt stops and removes the state file.
func TestDevStartsAndStops(t *testing.T) {
	testenv.LookPath(t, "redis-server")
	if !kubetest.Available() {
		t.Fatal("kube-apiserver/etcd binaries missing: see internal/kubetest")
	}
	t.Setenv("FLINKFERRY_DEV_STATE", filepath.Join(t.TempDir(), "dev.json"))
	t.Setenv("KUBECONFIG", "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runDev(ctx, pw, io.Discard, devOptions{kafkaPort: 0, registryPort: 0, artifactsPort: 0, logLevel: "error",
			examples: t.TempDir(), kubeletDelay: 300 * time.Millisecond})
		pw.Close()
	}()
	lines := make(chan string, 100)
	go func() {
		s := bufio.NewScanner(pr)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	var out []string
	wait := func(want string) {
		t.Helper()
		timeout := time.After(45 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("output ended before %q (err %v):\n%s", want, <-done, strings.Join(out, "\n"))
				}
				out = append(out, l)
				if l == want {
					return
				}
			case <-timeout:
				t.Fatalf("no %q within 45s:\n%s", want, strings.Join(out, "\n"))
			}
		}
	}
	wait(DevReadyLine)
	st, err := devstate.Read()
	if err != nil {
		t.Fatal(err)
	}
	if st.Kubernetes != dev.KubeSimulated || st.Namespace != dev.Namespace || len(st.KafkaBrokers) == 0 {
		t.Errorf("state = %+v", st)
	}
	if !strings.Contains(strings.Join(out, "\n"), "export FLINKFERRY_KAFKA_BROKERS="+st.KafkaBrokers[0]) {
		t.Errorf("banner lacks the brokers export:\n%s", strings.Join(out, "\n"))
	}
	wait("demo: /flink-jobs/wordcount RUNNING")
	cancel()
	go func() {
		for range lines {
		}
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("dev did not stop within 30s of the interrupt")
	}
	if _, err := devstate.Read(); !errors.Is(err, devstate.ErrNotRunning) {
		t.Errorf("state after stop: %v, want ErrNotRunning", err)
	}
}
