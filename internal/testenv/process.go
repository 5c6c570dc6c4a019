package testenv

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// installHint tells how to install each peer binary (Debian packages).
var installHint = map[string]string{
	"redis-server":    "apt-get install -y redis-server",
	"redis-cli":       "apt-get install -y redis-tools",
	"docker-registry": "apt-get install -y docker-registry",
	"kcat":            "apt-get install -y kcat",
}

// LookPath finds a peer binary or fails t with the install command.
func LookPath(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("test peer %s is not installed: run `%s` (or `bash .ci/run`, which installs every peer)", name, installHint[name])
	}
	return p
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// StablePort returns a loopback port that is free now and lies below the
// kernel's ephemeral range (20000-29999), for a server the test restarts
// on the same port (a worker's ops endpoints): FreePort's ports come from
// the ephemeral range, where an outgoing connection may take the port
// while the server is down.
func StablePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		port := 20000 + rand.IntN(10000)
		if _, taken := handedOut.LoadOrStore(port, true); taken {
			continue // never the same port twice in one test binary
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free port in 20000-29999")
	return 0
}

// handedOut are the ports StablePort returned in this test binary: a
// port closed by one process may still be handed to another, picked at
// random from the same range (a fault-suite flake: two workers given one
// ops port).
var handedOut sync.Map

// process is a peer started as a child process. It dies with the test
// binary (Pdeathsig) even when a cleanup does not run.
type process struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

func startProcess(name string, args ...string) (*process, error) {
	cmd := exec.Command(name, args...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, out: out, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

// waitTCP waits until addr accepts connections or the process exits.
func (p *process) waitTCP(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited early: %s", p.name, p.out.String())
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%s did not listen on %s within %s: %s", p.name, addr, timeout, p.out.String())
}

// stop kills the process group and waits for it.
func (p *process) stop() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func itoa(i int) string { return strconv.Itoa(i) }
