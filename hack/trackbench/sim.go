package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/flinkferry/flinkferry/internal/flinksim"
)

// The simulator process hosts the virtual JobManagers. It reads commands
// on stdin, one per line, and answers each with one line on stdout:
//
//	requests             -> "requests <total requests served>"
//	fail <first> <count> -> "failed <unix nanoseconds>" (its jobs of
//	                        clusters first..first+count-1 set to FAILED)
//
// It prints "ready <base URL>" once serving and exits when stdin closes.

// clusterName is the name of virtual JobManager i.
func clusterName(i int) string { return fmt.Sprintf("jm%05d", i) }

// jobID is the Flink job id of the one application job of cluster i.
func jobID(i int) string { return fmt.Sprintf("be%030x", i) }

// simHost is the domain the per-JobManager host names end in; every name
// is dialled to the simulator's loopback port.
const simHost = "jm.flinkferry.test"

// simAddrs is how many loopback addresses (127.0.0.1 to 127.0.0.<simAddrs>)
// the simulator listens on, all on the same port. JobManager host names
// resolve to them in turn, so per-JobManager connections are spread over
// as many destinations, as a fleet's are over its JobManagers' addresses:
// one destination address and port would cap the connections at the
// ephemeral port range (28,232 by default), TIME_WAIT sockets included,
// and make every connect() search that range.
const simAddrs = 16

// simIP is the loopback address JobManager i resolves to.
func simIP(i int) [4]byte { return [4]byte{127, 0, 0, byte(1 + i%simAddrs)} }

// serveLoopbacks serves srv on the same free port of every simAddrs
// address and returns the port.
func serveLoopbacks(srv *flinksim.Server) (int, error) {
	for range 10 {
		lns, err := listenLoopbacks()
		if err != nil {
			continue // the port was taken on another address: try another
		}
		hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
		for _, ln := range lns {
			go func() { _ = hs.Serve(ln) }()
		}
		return lns[0].Addr().(*net.TCPAddr).Port, nil
	}
	return 0, errors.New("no port free on every simulator loopback address")
}

// listenLoopbacks listens on a free port of 127.0.0.1 and on the same port
// of the other simAddrs addresses.
func listenLoopbacks() ([]net.Listener, error) {
	first, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening on loopback: %w", err)
	}
	port := first.Addr().(*net.TCPAddr).Port
	lns := []net.Listener{first}
	for a := 2; a <= simAddrs; a++ {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.%d:%d", a, port))
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, fmt.Errorf("listening on 127.0.0.%d:%d: %w", a, port, err)
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

// clusterBase is the REST endpoint of cluster i, served by simulator
// process i mod len(sims) (sims are host:port): a distinct host per
// JobManager (perHost), as every JobManager of a real fleet is its own
// Service, or a path prefix on the simulator's one host.
func clusterBase(sims []string, i int, perHost bool) string {
	addr := sims[i%len(sims)]
	if perHost {
		_, port, _ := strings.Cut(addr, ":")
		return "http://" + clusterName(i) + "." + simHost + ":" + port
	}
	return "http://" + addr + "/c/" + clusterName(i)
}

func runSim(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	n := fs.Int("clusters", 1000, "virtual JobManagers, each running one application job")
	part := fs.Int("part", 0, "this process serves the clusters i with i mod -parts = -part")
	parts := fs.Int("parts", 1, "simulator processes")
	checkpoints := fs.Duration("checkpoint-interval", 30*time.Second, "checkpoint interval of every job")
	savepoints := fs.Duration("savepoint-duration", 0, "time a savepoint or stop-with-savepoint takes, trigger to completion (0: the simulator's default, 1s)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	srv := flinksim.New(flinksim.ServerOptions{HostRouting: true})
	clusters := make([]*flinksim.Cluster, *n) // nil: served by another process
	for i := range clusters {
		if i%*parts != *part {
			continue
		}
		clusters[i] = srv.AddCluster(clusterName(i), flinksim.ClusterOptions{
			Application: true,
			Jobs: []flinksim.JobSpec{{
				ID:          jobID(i),
				Name:        "bench-" + clusterName(i),
				Script:      flinksim.Script{{State: flinksim.Running}},
				Checkpoints: flinksim.CheckpointSpec{Interval: *checkpoints},
				Savepoints:  flinksim.SavepointSpec{Duration: *savepoints},
			}},
		})
	}
	port, err := serveLoopbacks(srv)
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Printf("ready http://127.0.0.1:%d\n", port)
	go func() { <-ctx.Done(); os.Stdin.Close() }()

	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 1 && f[0] == "requests":
			var total int64
			for _, c := range clusters {
				if c != nil {
					total += c.Requests()
				}
			}
			fmt.Printf("requests %d\n", total)
		case len(f) == 3 && f[0] == "fail":
			first, err1 := strconv.Atoi(f[1])
			count, err2 := strconv.Atoi(f[2])
			if err := errors.Join(err1, err2); err != nil || first < 0 || count < 0 || first+count > len(clusters) {
				fmt.Printf("error bad range %q\n", sc.Text())
				continue
			}
			for _, c := range clusters[first : first+count] {
				if c != nil {
					c.Jobs()[0].Fail("java.lang.RuntimeException: benchmark failure")
				}
			}
			fmt.Printf("failed %d\n", time.Now().UnixNano())
		default:
			fmt.Printf("error unknown command %q\n", sc.Text())
		}
	}
	return sc.Err()
}

// simProc is the parent's handle on a simulator process.
type simProc struct {
	cmd  *exec.Cmd
	addr string // host:port

	mu  sync.Mutex
	in  io.WriteCloser
	out *bufio.Reader
}

// startSim starts simulator process part of parts for n clusters, with
// extra flags of the sim subcommand, and waits until it serves.
func startSim(n, part, parts int, stderr io.Writer, extra ...string) (*simProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding own executable: %w", err)
	}
	args := append([]string{"sim", "-clusters", strconv.Itoa(n), "-part", strconv.Itoa(part), "-parts", strconv.Itoa(parts)}, extra...)
	cmd := exec.Command(self, args...)
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("starting simulator: %w", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("starting simulator: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting simulator: %w", err)
	}
	s := &simProc{cmd: cmd, in: in, out: bufio.NewReader(out)}
	line, err := s.out.ReadString('\n')
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("starting simulator: %w", err)
	}
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "ready http://")
	if !ok {
		s.stop()
		return nil, fmt.Errorf("starting simulator: it said %q", line)
	}
	s.addr = url
	return s, nil
}

// call sends one command and returns the answer's words after the first.
func (s *simProc) call(cmd, want string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := io.WriteString(s.in, cmd+"\n"); err != nil {
		return nil, fmt.Errorf("simulator command %q: %w", cmd, err)
	}
	line, err := s.out.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("simulator command %q: %w", cmd, err)
	}
	f := strings.Fields(line)
	if len(f) == 0 || f[0] != want {
		return nil, fmt.Errorf("simulator command %q: answer %q", cmd, strings.TrimSpace(line))
	}
	return f[1:], nil
}

// requests returns how many requests the simulator has served.
func (s *simProc) requests() (int64, error) {
	f, err := s.call("requests", "requests")
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(f[0], 10, 64)
}

// fail switches the jobs of clusters [first, first+count) to FAILED and
// returns when the simulator did it.
func (s *simProc) fail(first, count int) (time.Time, error) {
	f, err := s.call(fmt.Sprintf("fail %d %d", first, count), "failed")
	if err != nil {
		return time.Time{}, err
	}
	ns, err := strconv.ParseInt(f[0], 10, 64)
	return time.Unix(0, ns), err
}

// stop closes stdin (the simulator exits) and waits.
func (s *simProc) stop() {
	s.in.Close()
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// simFleet is the simulator processes; cluster i is on process i mod len.
type simFleet []*simProc

// startSims starts parts simulator processes for n clusters, with extra
// flags of the sim subcommand.
func startSims(n, parts int, logDir string, extra ...string) (simFleet, error) {
	var f simFleet
	for k := range parts {
		log, err := os.Create(filepath.Join(logDir, fmt.Sprintf("sim-%d.log", k)))
		if err != nil {
			f.stop()
			return nil, err
		}
		s, err := startSim(n, k, parts, log, extra...)
		if err != nil {
			f.stop()
			return nil, err
		}
		f = append(f, s)
	}
	return f, nil
}

// addrs are the processes' host:port, for loopConfig.Sims.
func (f simFleet) addrs() []string {
	out := make([]string, len(f))
	for i, s := range f {
		out[i] = s.addr
	}
	return out
}

// requests returns how many requests the simulators have served.
func (f simFleet) requests() (int64, error) {
	var sum int64
	for _, s := range f {
		n, err := s.requests()
		if err != nil {
			return 0, err
		}
		sum += n
	}
	return sum, nil
}

// fail fails the jobs of clusters [first, first+count), every process at
// once, and returns the earliest time a process did so.
func (f simFleet) fail(first, count int) (time.Time, error) {
	type answer struct {
		t   time.Time
		err error
	}
	ch := make(chan answer, len(f))
	for _, s := range f {
		go func() {
			t, err := s.fail(first, count)
			ch <- answer{t, err}
		}()
	}
	var t0 time.Time
	var errs []error
	for range f {
		a := <-ch
		errs = append(errs, a.err)
		if a.err == nil && (t0.IsZero() || a.t.Before(t0)) {
			t0 = a.t
		}
	}
	return t0, errors.Join(errs...)
}

// cpu returns the CPU time the simulators have used so far.
func (f simFleet) cpu() (time.Duration, error) {
	var sum time.Duration
	for _, s := range f {
		d, err := cpuTime(s.cmd.Process.Pid)
		if err != nil {
			return 0, err
		}
		sum += d
	}
	return sum, nil
}

// stop stops every process.
func (f simFleet) stop() {
	for _, s := range f {
		s.stop()
	}
}
