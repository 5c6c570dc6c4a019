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

	"github.com/flinkferry/flinkferry/cmd/flinkferry/dev"
	"github.com/flinkferry/flinkferry/internal/devstate"
	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/internal/testenv"
)

// TestDevStartsAndStops runs `flinkferry dev` in-process on free ports with
// the demo of examples/: it prints the banner and the ready line, writes
// the state file the other commands read, follows the application job,
// the session cluster and the session job submitted to it to RUNNING,
// then a job of its own that it suspends and resumes from that
// savepoint (not on the fake clientset), and on interrupt stops and removes the state file. It does so with the
// local redis-server and control plane, and with their fallbacks
// (embedded miniredis, fake clientset), which the banner and the state
// file announce; without an examples directory, with the built-in
// request.
func TestDevStartsAndStops(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fallbacks bool
		builtin   bool // no examples directory: the built-in request
		kind      string
		banner    []string
	}{
		{name: "local binaries", kind: dev.KubeSimulated,
			banner: []string{dev.SimRedisServer, "kubeconfig /", "kubernetes (local apiserver, kubelet simulation)"}},
		{name: "fallbacks", fallbacks: true, kind: dev.KubeFake,
			banner: []string{dev.SimRedisEmbedded, "no kubeconfig", "kubernetes (in-memory fake clientset, kubelet simulation)"}},
		{name: "fallbacks, built-in demo", fallbacks: true, builtin: true, kind: dev.KubeFake,
			banner: []string{dev.SimRedisEmbedded, "no kubeconfig"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.fallbacks {
				testenv.LookPath(t, "redis-server")
				if !kubetest.Available() {
					t.Fatal("kube-apiserver/etcd binaries missing: see internal/kubetest")
				}
			}
			o := devOptions{embeddedRedis: tc.fallbacks, fakeKube: tc.fallbacks, examples: "../../../examples"}
			demo := []string{"demo: /flink-jobs/wordcount RUNNING", "demo: /flink-jobs/shared-session RUNNING",
				"demo: /flink-jobs/wordcount-on-session RUNNING"}
			if tc.builtin {
				o.examples, demo = t.TempDir(), demo[:1]
			}
			testDevStartsAndStops(t, o, tc.kind, tc.banner, demo)
		})
	}
}

// testDevStartsAndStops runs dev with o and waits for the demo lines.
func testDevStartsAndStops(t *testing.T, o devOptions, kind string, banner, demo []string) {
	t.Setenv("FLINKFERRY_DEV_STATE", filepath.Join(t.TempDir(), "dev.json"))
	t.Setenv("KUBECONFIG", "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	o.kafkaPort, o.registryPort, o.artifactsPort, o.logLevel = 0, 0, 0, "error"
	o.kubeletDelay = 300 * time.Millisecond
	go func() {
		done <- runDev(ctx, pw, io.Discard, o)
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
	// waitPrefix returns the first line from here on that starts with want.
	waitPrefix := func(want string) string {
		t.Helper()
		timeout := time.After(60 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("output ended before %q (err %v):\n%s", want, <-done, strings.Join(out, "\n"))
				}
				out = append(out, l)
				if strings.HasPrefix(l, want) {
					return l
				}
			case <-timeout:
				t.Fatalf("no %q within 60s:\n%s", want, strings.Join(out, "\n"))
			}
		}
	}
	wait := func(want string) {
		t.Helper()
		if l := waitPrefix(want); l != want {
			t.Fatalf("line %q, want %q:\n%s", l, want, strings.Join(out, "\n"))
		}
	}
	wait(DevReadyLine)
	st, err := devstate.Read()
	if err != nil {
		t.Fatal(err)
	}
	if st.Kubernetes != kind || st.Namespace != dev.Namespace || len(st.KafkaBrokers) == 0 {
		t.Errorf("state = %+v, want Kubernetes %q", st, kind)
	}
	for _, want := range append(banner, "export FLINKFERRY_KAFKA_BROKERS="+st.KafkaBrokers[0]) {
		if !strings.Contains(strings.Join(out, "\n"), want) {
			t.Errorf("banner lacks %q:\n%s", want, strings.Join(out, "\n"))
		}
	}
	// examples/: the application job, the session cluster, then a session
	// job submitted to it over Flink's REST API.
	for _, l := range demo {
		wait(l)
	}
	// Then the day-2 demo job is suspended and resumed from exactly the
	// savepoint the suspend took.
	const job = "demo: /flink-jobs/day2-demo "
	wait(job + "RUNNING")
	wait("demo: suspending /flink-jobs/day2-demo…")
	sp := strings.TrimPrefix(waitPrefix(job+"SUSPENDED, savepoint "), job+"SUSPENDED, savepoint ")
	if sp == "" {
		t.Fatalf("no savepoint path:\n%s", strings.Join(out, "\n"))
	}
	wait("demo: resuming /flink-jobs/day2-demo from its savepoint…")
	wait(job + "RUNNING, restored from " + sp)
	wait("demo: done; try `flinkferry status`")
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
