package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/flinkferry/flinkferry/cmd/flinkferry/cli"
	"github.com/flinkferry/flinkferry/internal/devproc"
	"github.com/flinkferry/flinkferry/internal/devstate"
	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
)

const (
	// readyTimeout bounds `flinkferry dev` from start to its ready line.
	readyTimeout = 90 * time.Second
	// stopTimeout bounds `flinkferry dev` from SIGINT to its exit.
	stopTimeout = 20 * time.Second
	// exampleFile is README's quickstart example, relative to the module root.
	exampleFile = "examples/application/wordcount.yaml"
)

var (
	// binary is the flinkferry binary TestMain built; root the module root,
	// the working directory of every command (as in README).
	binary, root string

	sharedMu  sync.Mutex
	sharedDev *devProcess
)

func TestMain(m *testing.M) {
	testenv.MainFunc(func() int {
		var remove func()
		var err error
		if root, binary, remove, err = devproc.BuildTemp("flinkferry-e2e-"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer remove()
		code := m.Run()
		sharedMu.Lock()
		if sharedDev != nil {
			sharedDev.Kill()
		}
		sharedMu.Unlock()
		return code
	})
}

// devProcess is a running `flinkferry dev` subprocess.
type devProcess struct{ *devproc.Process }

// runningDev returns the package's `flinkferry dev`, starting one when none
// runs (tests share it: its start is the slow part). dev's output goes to
// t.Log when t fails.
func runningDev(t *testing.T) *devProcess {
	t.Helper()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if sharedDev != nil && sharedDev.Exited() {
		sharedDev.Remove()
		sharedDev = nil
	}
	if sharedDev == nil {
		sharedDev = startDev(t)
	}
	d := sharedDev
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("flinkferry dev output:\n%s", d.Output())
		}
	})
	return d
}

// startDev starts `flinkferry dev --no-demo` on free ports (never the
// defaults: other tests and CI jobs run beside this one) and waits for its
// ready line.
func startDev(t *testing.T) *devProcess {
	t.Helper()
	testenv.LookPath(t, "redis-server")
	if !kubetest.Available() {
		t.Fatal("kube-apiserver/etcd binaries missing: run `bash hack/k8s-testbin/build.sh` (see internal/kubetest)")
	}
	// The environment of dev and of every command talking to it: the
	// test's minus FLINKFERRY_* and KUBECONFIG (devproc adds the state
	// file, in a directory of its own: the process may outlive this test).
	p, err := devproc.Start(devproc.ForTests(binary, root, readyTimeout))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("flinkferry dev ready in %s", p.ReadyAfter.Round(10*time.Millisecond))
	return &devProcess{p}
}

// readState reads dev's state file.
func (d *devProcess) readState(t *testing.T) devstate.State {
	t.Helper()
	st, err := d.State()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// result is a finished command.
type result struct {
	stdout, stderr string
	code           int
}

// flinkferry runs the binary with args in the module root, with dev's
// environment and nothing else (no flags naming Kafka or Redis), and waits
// at most timeout.
func (d *devProcess) flinkferry(t *testing.T, timeout time.Duration, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir, cmd.Env = root, d.Env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began := time.Now()
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
	t.Logf("flinkferry %s: exit %d in %s\n%s", strings.Join(args, " "), r.code, time.Since(began).Round(10*time.Millisecond), r.stdout)
	if ctx.Err() != nil {
		t.Fatalf("flinkferry %s: not done within %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), timeout, r.stdout, r.stderr)
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("flinkferry %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// TestDevSubmitWaitStatus is README's quickstart on a fresh dev: the
// example request is submitted with `flinkferry submit -f ... --wait`
// finding dev through its state file only; it exits 0 after the image was
// pushed (a sha256 digest) and the job reached RUNNING, through the real
// build -> submit -> track workers, local kube-apiserver, simulated kubelet
// and Flink REST. `flinkferry status -o json` then reports the job RUNNING,
// and submitting the same file again exits 0 at once.
// dev serves the example jar on a free port, not the 127.0.0.1:8989 the
// example names: submit points the jar at the running dev's artifact server.
func TestDevSubmitWaitStatus(t *testing.T) {
	d := runningDev(t)
	data, err := os.ReadFile(filepath.Join(root, exampleFile))
	if err != nil {
		t.Fatal(err)
	}
	req, _, err := cli.LoadSubmitRequest(exampleFile, data)
	if err != nil {
		t.Fatal(err)
	}

	r := d.flinkferry(t, 2*time.Minute, "submit", "-f", exampleFile, "--wait")
	if r.code != 0 {
		t.Fatalf("submit --wait: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"sha256:", string(messages.StateRunning)} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("submit --wait output lacks %q:\n%s", want, r.stdout)
		}
	}
	if st := d.readState(t); !strings.Contains(r.stdout, st.ArtifactsURL+"/jars/") {
		t.Errorf("submit output does not name dev's artifact server %s:\n%s", st.ArtifactsURL, r.stdout)
	}

	r = d.flinkferry(t, 30*time.Second, "status", "-o", "json")
	if r.code != 0 {
		t.Fatalf("status -o json: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	var jobs []cli.JobStatus
	if err := json.Unmarshal([]byte(r.stdout), &jobs); err != nil {
		t.Fatalf("status -o json: %v:\n%s", err, r.stdout)
	}
	i := slices.IndexFunc(jobs, func(j cli.JobStatus) bool {
		return j.Namespace == req.Job.Namespace && j.ClusterID == req.Job.ClusterID
	})
	if i < 0 {
		t.Fatalf("status -o json lists no job %s/%s:\n%s", req.Job.Namespace, req.Job.ClusterID, r.stdout)
	}
	if got, want := jobs[i].State, string(messages.StateRunning); got != want {
		t.Errorf("status of %s = %s, want %s", jobs[i].Key, got, want)
	}
	if got, want := jobs[i].RequestID, req.RequestID; got != want {
		t.Errorf("status of %s: request_id = %s, want %s", jobs[i].Key, got, want)
	}

	// README's dev runs the demo, which submits this very file first: the
	// same request again changes nothing, and --wait reports the job's
	// state rather than waiting for an event that never comes.
	r = d.flinkferry(t, time.Minute, "submit", "-f", exampleFile, "--wait")
	if r.code != 0 || !strings.Contains(r.stdout, string(messages.StateRunning)) {
		t.Errorf("submit --wait of the same request again: exit %d, want 0 and RUNNING\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestSubmitBrokenRequestFails submits testdata/broken.yaml (six invalid
// fields) to a running dev: submit exits 1, stderr lists every problem by
// its field path, and the submit topic receives nothing.
func TestSubmitBrokenRequestFails(t *testing.T) {
	d := runningDev(t)
	st := d.readState(t)
	submitTopic := st.TopicPrefix + "submit"
	before := endOffsets(t, st.KafkaBrokers, submitTopic)

	r := d.flinkferry(t, 30*time.Second, "submit", "-f", "test/e2e/testdata/broken.yaml", "--wait")
	if r.code != 1 {
		t.Errorf("submit of a broken request: exit %d, want 1", r.code)
	}
	// One "  <field path>: <problem>" line per problem.
	var paths []string
	for _, l := range strings.Split(r.stderr, "\n") {
		if rest, ok := strings.CutPrefix(l, "  "); ok {
			path, _, _ := strings.Cut(rest, ": ")
			paths = append(paths, path)
		}
	}
	slices.Sort(paths)
	want := []string{"flink.parallelism", "flink.version", "job.namespace", "mode", "program.jar.url", "request_id"}
	if !slices.Equal(paths, want) {
		t.Errorf("field paths in stderr = %q, want %q\nstderr:\n%s", paths, want, r.stderr)
	}
	if !strings.Contains(r.stderr, "(6 problems), nothing submitted") {
		t.Errorf("stderr lacks the summary:\n%s", r.stderr)
	}
	if strings.Contains(r.stdout, "submitted") {
		t.Errorf("stdout says something was submitted:\n%s", r.stdout)
	}
	if after := endOffsets(t, st.KafkaBrokers, submitTopic); !maps.Equal(before, after) {
		t.Errorf("submit topic end offsets went from %v to %v: something was produced", before, after)
	}
}

// endOffsets returns the end offset of each partition of topic (none when
// the topic does not exist yet).
func endOffsets(t *testing.T, brokers []string, topic string) map[int32]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("listing the end offsets of %s: %v", topic, err)
	}
	offsets := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil {
			offsets[o.Partition] = o.Offset
		}
	})
	return offsets
}

// TestDevInterruptStops interrupts dev as Ctrl-C does: it prints that it
// stops, exits 0 within 20 s, removes its state file, and its redis-server
// child no longer listens. It runs last so the other tests share one dev;
// alone (-run) it starts its own.
func TestDevInterruptStops(t *testing.T) {
	d := runningDev(t)
	redisURL, err := url.Parse(d.readState(t).RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	select {
	case <-d.Done():
	case <-time.After(stopTimeout):
		t.Fatalf("flinkferry dev did not exit within %s of SIGINT", stopTimeout)
	}
	t.Logf("flinkferry dev stopped in %s", time.Since(began).Round(10*time.Millisecond))
	defer d.Remove()
	if code := d.Cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("flinkferry dev exit code after SIGINT = %d (%v), want 0", code, d.Cmd.ProcessState)
	}
	if !strings.Contains(d.Output(), "flinkferry dev: stopping") {
		t.Error("flinkferry dev did not say it stops")
	}
	if _, err := os.Stat(d.StatePath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state file after stop: %v, want it removed", err)
	}
	if c, err := net.DialTimeout("tcp", redisURL.Host, time.Second); err == nil {
		c.Close()
		t.Errorf("Redis %s still listens after dev stopped", redisURL.Host)
	}
}
