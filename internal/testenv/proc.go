package testenv

import (
	"bytes"
	"fmt"
	"maps"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// procTail bounds the output a Proc keeps (its last bytes).
const procTail = 64 << 10

// Proc is a program under test run as its own process (a `flinkferry
// worker` replica): started, SIGKILLed and started again with the same
// arguments and environment, its output's tail kept for the test log. It
// dies with the test binary (Pdeathsig) and is killed at cleanup.
type Proc struct {
	// Name identifies the process in logs ("track-a").
	Name string

	bin       string
	args, env []string
	dir       string

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	out    *tailBuffer
	starts int
}

// ProcOptions describe a Proc.
type ProcOptions struct {
	// Name identifies the process in logs ("track-a").
	Name string
	// Dir is the working directory, Bin the program, Args its arguments
	// and Env its whole environment.
	Dir, Bin string
	Args     []string
	Env      []string
	// Secrets are counted in everything the process writes (Hits), over
	// all its starts, not only the tail kept.
	Secrets []string
}

// StartProc starts a process as o says. Its output goes to the test log,
// when the test failed, at cleanup.
func StartProc(t testing.TB, o ProcOptions) *Proc {
	t.Helper()
	p := &Proc{Name: o.Name, bin: o.Bin, args: o.Args, env: o.Env, dir: o.Dir, out: &tailBuffer{max: procTail}}
	p.out.watch(o.Secrets)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("process %s (started %d times), last %d KiB of its output:\n%s", p.Name, p.Starts(), procTail>>10, p.out.String())
		}
	})
	return p
}

// Hits returns how many times each of ProcOptions.Secrets appeared in the
// process's output.
func (p *Proc) Hits() map[string]int { return p.out.hits() }

// Start starts the process (again); it must not be running.
func (p *Proc) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !p.exitedLocked() {
		return fmt.Errorf("starting %s: it is running", p.Name)
	}
	cmd := exec.Command(p.bin, p.args...)
	cmd.Dir, cmd.Env = p.dir, p.env
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", p.Name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	p.cmd, p.done = cmd, done
	p.starts++
	return nil
}

// Kill SIGKILLs the process, waits until it is dead and returns when. It
// is an error when the process had already exited on its own.
func (p *Proc) Kill() (time.Time, error) {
	p.mu.Lock()
	exited, cmd := p.exitedLocked(), p.cmd
	p.mu.Unlock()
	if exited {
		state := "never started"
		if cmd != nil {
			state = cmd.ProcessState.String()
		}
		return time.Time{}, fmt.Errorf("%s exited on its own before the kill (%s)", p.Name, state)
	}
	p.kill()
	at := time.Now()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		return at, fmt.Errorf("%s ended %v, want killed by SIGKILL", p.Name, cmd.ProcessState)
	}
	return at, nil
}

// ExitState describes how the last start ended ("running" while it runs).
func (p *Proc) ExitState() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.cmd == nil:
		return "never started"
	case !p.exitedLocked():
		return "running"
	}
	return p.cmd.ProcessState.String()
}

// Stop sends SIGTERM and waits up to grace for the process to exit (then
// SIGKILLs it); it returns how long the exit took and an error when grace
// was not enough or the exit status was not 0.
func (p *Proc) Stop(grace time.Duration) (time.Duration, error) {
	p.mu.Lock()
	cmd, done, exited := p.cmd, p.done, p.exitedLocked()
	p.mu.Unlock()
	if exited {
		return 0, fmt.Errorf("%s is not running", p.Name)
	}
	start := time.Now()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(grace):
		p.kill()
		return time.Since(start), fmt.Errorf("%s did not exit within %s of SIGTERM", p.Name, grace)
	}
	took := time.Since(start)
	if !cmd.ProcessState.Success() {
		return took, fmt.Errorf("%s exited with %s after SIGTERM", p.Name, cmd.ProcessState)
	}
	return took, nil
}

// Exited reports whether the process is not running.
func (p *Proc) Exited() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exitedLocked()
}

// Starts is how many times the process was started.
func (p *Proc) Starts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.starts
}

// Pid is the process id of the current start (0 when not running).
func (p *Proc) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exitedLocked() {
		return 0
	}
	return p.cmd.Process.Pid
}

// Output is the tail of everything the process wrote, over all its starts.
func (p *Proc) Output() string { return p.out.String() }

func (p *Proc) exitedLocked() bool {
	if p.done == nil {
		return true
	}
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *Proc) kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// tailBuffer keeps the last max bytes written to it and counts the
// watched strings in everything written.
type tailBuffer struct {
	mu      sync.Mutex
	max     int
	buf     []byte
	secrets []string
	counts  map[string]int
	carry   []byte // the end of the previous write, for matches across writes
}

func (b *tailBuffer) watch(secrets []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.counts = map[string]int{}
	for _, s := range secrets {
		if s != "" {
			b.secrets = append(b.secrets, s)
			b.counts[s] = 0
		}
	}
}

func (b *tailBuffer) hits() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return maps.Clone(b.counts)
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.secrets) > 0 {
		win := append(b.carry, p...)
		keep := 0
		for _, s := range b.secrets {
			// Matches lying wholly in the carry were counted by the
			// previous write.
			for i := 0; ; {
				j := bytes.Index(win[i:], []byte(s))
				if j < 0 {
					break
				}
				if i+j+len(s) > len(b.carry) {
					b.counts[s]++
				}
				i += j + 1
			}
			keep = max(keep, len(s)-1)
		}
		b.carry = append(b.carry[:0], win[max(0, len(win)-keep):]...)
	}
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
