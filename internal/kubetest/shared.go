package kubetest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// shared is the package's one shared control plane, started by the first
// Shared call and stopped by Main.
var shared struct {
	mu      sync.Mutex
	inMain  bool
	opts    Options
	started bool
	cp      *ControlPlane
	dir     string
	err     error
}

// Main runs a package's tests with one control plane shared between them
// (no controller-manager) and stops it afterwards. Call it from TestMain:
//
//	func TestMain(m *testing.M) { kubetest.Main(m) }
//
// The control plane starts on the first call to [Shared], so a run whose
// tests never call it starts nothing.
func Main(m *testing.M) { MainWith(m, Options{}) }

// MainWith is Main with options for the shared control plane, e.g.
// Options{ControllerManager: true}.
func MainWith(m *testing.M, opts Options) {
	if code := Run(m, opts); code != 0 {
		os.Exit(code)
	}
}

// Run is MainWith returning the exit code instead of exiting, to combine
// with other peers' mains (testenv.MainFunc).
func Run(m *testing.M, opts Options) int {
	shared.mu.Lock()
	shared.inMain, shared.opts = true, opts
	shared.mu.Unlock()

	code := m.Run()

	shared.mu.Lock()
	defer shared.mu.Unlock()
	shared.inMain = false
	if shared.cp == nil {
		if shared.dir != "" {
			os.RemoveAll(shared.dir)
		}
		return code
	}
	if err := shared.cp.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "kubetest: stopping the shared control plane: %v\n", err)
		code = 1
	}
	if code != 0 {
		// Keep the logs of a failed run where they can be read.
		fmt.Fprintf(os.Stderr, "kubetest: tests failed; shared control plane logs kept in %s\n", shared.dir)
		return code
	}
	os.RemoveAll(shared.dir)
	return code
}

// Shared returns the package's shared control plane, starting it on first
// use with the options given to [MainWith]. Tests that share it must not
// rely on a clean cluster: give each test its own namespace. Shared fails t
// when TestMain does not call Main or MainWith (nothing would stop the
// processes), or when the control plane could not start; a failed start is
// not retried.
func Shared(t testing.TB) *ControlPlane {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.inMain {
		t.Fatalf("kubetest.Shared needs the package's TestMain to call kubetest.Main(m) or kubetest.MainWith(m, opts)")
	}
	if !shared.started {
		shared.started = true
		shared.dir, shared.err = os.MkdirTemp("", "kubetest-shared-")
		if shared.err == nil {
			began := time.Now()
			// Not t.Context(): the control plane outlives this test.
			shared.cp, shared.err = start(context.Background(), shared.dir, shared.opts)
			if shared.err == nil {
				t.Logf("kubetest: shared control plane at %s ready in %s", shared.cp.host, time.Since(began).Round(10*time.Millisecond))
			}
		}
	}
	if shared.err != nil {
		t.Fatalf("starting the shared control plane: %v", shared.err)
	}
	return shared.cp
}
