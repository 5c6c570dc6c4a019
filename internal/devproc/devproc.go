package devproc

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/flinkferry/flinkferry/internal/devstate"
)

// Options say how to start dev.
type Options struct {
	// Binary is the flinkferry binary. Required.
	Binary string
	// Dir is the working directory (default: the current one).
	Dir string
	// Args follow "dev" on the command line.
	Args []string
	// Env is dev's environment (default: this process's);
	// FLINKFERRY_DEV_STATE is added.
	Env []string
	// ReadyTimeout bounds the wait for the ready line (default 3m).
	ReadyTimeout time.Duration
}

// Process is a running `flinkferry dev`.
type Process struct {
	// Cmd is the process.
	Cmd *exec.Cmd
	// Env is its environment, state file included: commands given it
	// find this dev with no flags.
	Env []string
	// Dir is a temporary directory holding StatePath; Kill and Remove
	// delete it.
	Dir       string
	StatePath string
	// ReadyAfter is the time from start to the ready line.
	ReadyAfter time.Duration

	out  lineBuffer
	done chan struct{}
}

// Start starts dev and waits for its ready line. Dev is killed when this
// process dies. On error nothing is left running and the error holds
// dev's output.
func Start(o Options) (*Process, error) {
	if o.Binary == "" {
		return nil, errors.New("devproc: no binary")
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 3 * time.Minute
	}
	if o.Env == nil {
		o.Env = os.Environ()
	}
	dir, err := os.MkdirTemp("", "flinkferry-dev-")
	if err != nil {
		return nil, err
	}
	p := &Process{Dir: dir, StatePath: filepath.Join(dir, "dev.json"), done: make(chan struct{})}
	p.Env = append(append([]string(nil), o.Env...), "FLINKFERRY_DEV_STATE="+p.StatePath)
	p.Cmd = exec.Command(o.Binary, append([]string{"dev"}, o.Args...)...)
	p.Cmd.Dir, p.Cmd.Env = o.Dir, p.Env
	p.Cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := p.Cmd.StdoutPipe()
	if err != nil {
		p.Remove()
		return nil, err
	}
	stderr, err := p.Cmd.StderrPipe()
	if err != nil {
		p.Remove()
		return nil, err
	}
	began := time.Now()
	if err := p.Cmd.Start(); err != nil {
		p.Remove()
		return nil, fmt.Errorf("starting %s: %w", o.Binary, err)
	}
	ready := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { p.read(stdout, "", ready) })
	wg.Go(func() { p.read(stderr, "stderr: ", nil) })
	go func() {
		wg.Wait() // Wait must not run before the pipes are read to their end.
		_ = p.Cmd.Wait()
		close(p.done)
	}()
	select {
	case <-ready:
		p.ReadyAfter = time.Since(began)
		return p, nil
	case <-p.done:
		p.Remove()
		return nil, fmt.Errorf("flinkferry dev exited before %q (%v):\n%s", devstate.ReadyLine, p.Cmd.ProcessState, p.Output())
	case <-time.After(o.ReadyTimeout):
		p.Kill()
		return nil, fmt.Errorf("no %q within %s:\n%s", devstate.ReadyLine, o.ReadyTimeout, p.Output())
	}
}

// read collects the lines of r, prefixed, closing ready (when set) at the
// ready line. Lines of any length are kept whole (a test checking the log
// line cap must see an over-long line, and dev must never block on a full
// pipe because its reader gave up).
func (p *Process) read(r io.Reader, prefix string, ready chan struct{}) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			line = strings.TrimSuffix(line, "\n")
			p.out.add(prefix + line)
			if ready != nil && line == devstate.ReadyLine {
				close(ready)
				ready = nil
			}
		}
		if err != nil {
			return
		}
	}
}

// Output returns what dev printed so far, stderr lines prefixed "stderr: ".
func (p *Process) Output() string { return p.out.String() }

// Done is closed once dev has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether dev has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// State reads dev's state file.
func (p *Process) State() (devstate.State, error) {
	var st devstate.State
	b, err := os.ReadFile(p.StatePath)
	if err != nil {
		return st, fmt.Errorf("reading the dev state file: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("reading the dev state file: %w", err)
	}
	return st, nil
}

// Stop interrupts dev as Ctrl-C does, waits up to grace, then kills it;
// it removes Dir.
func (p *Process) Stop(grace time.Duration) {
	_ = p.Cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
		p.Remove()
	case <-time.After(grace):
		p.Kill()
	}
}

// Kill stops dev without ceremony (SIGKILL), waits for it and removes Dir.
func (p *Process) Kill() {
	_ = p.Cmd.Process.Kill()
	<-p.done
	p.Remove()
}

// Remove deletes Dir.
func (p *Process) Remove() { _ = os.RemoveAll(p.Dir) }

// lineBuffer collects output lines, safe for concurrent use.
type lineBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (b *lineBuffer) add(l string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines = append(b.lines, l)
}

func (b *lineBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.lines, "\n")
}

// Build builds the module's ./cmd/flinkferry into dir with a plain go
// build (what users run) and returns the module root, the working
// directory README's commands run from, and the binary's path.
func Build(dir string) (modRoot, bin string, err error) {
	return build(dir)
}

// BuildTemp is Build into a new temporary directory whose name starts
// with prefix; remove deletes it (a test's TestMain defers it).
func BuildTemp(prefix string) (modRoot, bin string, remove func(), err error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", "", nil, err
	}
	remove = func() { os.RemoveAll(dir) }
	if modRoot, bin, err = build(dir); err != nil {
		remove()
		return "", "", nil, err
	}
	return modRoot, bin, remove, nil
}

func build(dir string) (modRoot, bin string, err error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", "", fmt.Errorf("finding the module root: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", "", errors.New("finding the module root: not in a module")
	}
	modRoot, bin = filepath.Dir(gomod), filepath.Join(dir, "flinkferry")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/flinkferry")
	cmd.Dir = modRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("building flinkferry: %w\n%s", err, out)
	}
	return modRoot, bin, nil
}

// ScrubbedEnv returns this process's environment without FLINKFERRY_*
// variables and KUBECONFIG, so dev and the commands under test see no
// configuration of the machine they run on.
func ScrubbedEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FLINKFERRY_") && !strings.HasPrefix(kv, "KUBECONFIG=") {
			env = append(env, kv)
		}
	}
	return env
}

// ForTests returns the options tests start dev with: the built binary in
// the module root, the scrubbed environment, no demo, every port free
// (never the defaults: other tests and CI jobs run beside them), a fast
// simulated kubelet and info logs.
func ForTests(binary, modRoot string, readyTimeout time.Duration) Options {
	return Options{Binary: binary, Dir: modRoot, Env: ScrubbedEnv(), ReadyTimeout: readyTimeout,
		Args: []string{"--no-demo", "--kafka-port", "0", "--registry-port", "0", "--artifacts-port", "0",
			"--kubelet-delay", "500ms", "--log-level", "info"}}
}
