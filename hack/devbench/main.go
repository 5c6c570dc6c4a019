// Command devbench measures `flinkferry dev` as a newcomer meets it
// (GitHub issue 7): the time from starting the binary to its ready line,
// over several starts, and the time from producing a submit request to
// the job's RUNNING status event on the simulated cluster, p50/p99 over
// many jobs. It prints markdown tables for BENCHMARKS.md.
//
//	go tool task bench-dev
//	go run ./hack/devbench -bin bin/flinkferry -starts 5 -jobs 100 -rate 5
//
// Every start uses free ports and its own state file, so it runs beside a
// `flinkferry dev` on the default ports.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/flinkferry/flinkferry/cmd/flinkferry/dev"
	"github.com/flinkferry/flinkferry/internal/devproc"
	"github.com/flinkferry/flinkferry/internal/devstate"
	"github.com/flinkferry/flinkferry/messages"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "devbench:", err)
		stop()
		os.Exit(1)
	}
}

type config struct {
	bin     string
	starts  int
	jobs    int
	rate    float64
	timeout time.Duration
	args    []string
}

func run(ctx context.Context, args []string) error {
	var c config
	fs := flag.NewFlagSet("devbench", flag.ContinueOnError)
	fs.StringVar(&c.bin, "bin", "bin/flinkferry", "the flinkferry binary")
	fs.IntVar(&c.starts, "starts", 5, "starts of `flinkferry dev` timed to ready")
	fs.IntVar(&c.jobs, "jobs", 100, "jobs submitted on the last start")
	fs.Float64Var(&c.rate, "rate", 5, "submissions per second (0: all at once)")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Minute, "time allowed for every job to reach RUNNING")
	extra := fs.String("dev-args", "", "extra arguments of `flinkferry dev`, space-separated (e.g. --kubelet-delay=2s)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c.args = strings.Fields(*extra)
	if c.starts < 1 {
		return errors.New("-starts must be at least 1")
	}
	var ready []time.Duration
	var lat []time.Duration
	var kube string
	for i := range c.starts {
		last := i == c.starts-1
		err := func() error {
			d, err := startDev(ctx, c)
			if err != nil {
				return err
			}
			defer d.stop()
			ready = append(ready, d.ReadyAfter)
			kube = d.state.Kubernetes
			fmt.Fprintf(os.Stderr, "start %d: ready in %s\n", i+1, d.ReadyAfter.Round(time.Millisecond))
			if !last || c.jobs == 0 {
				return nil
			}
			lat, err = submitAll(ctx, c, d.state)
			return err
		}()
		if err != nil {
			return fmt.Errorf("start %d: %w", i+1, err)
		}
	}
	fmt.Printf("machine: %d CPUs, %s; Kubernetes: %s\n\n", runtime.NumCPU(), runtime.Version(), kube)
	fmt.Println("| measure | runs | p50 | p99 | max |")
	fmt.Println("|---|---|---|---|---|")
	row("`flinkferry dev` start → ready", ready)
	if len(lat) > 0 {
		label := fmt.Sprintf("submit → RUNNING event (%.0f/s)", c.rate)
		if c.rate <= 0 {
			label = "submit → RUNNING event (all at once)"
		}
		row(label, lat)
	}
	return nil
}

func row(name string, ds []time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	pct := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	fmt.Printf("| %s | %d | %s | %s | %s |\n", name, len(s), fmtDur(pct(0.5)), fmtDur(pct(0.99)), fmtDur(s[len(s)-1]))
}

func fmtDur(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// devProc is a running `flinkferry dev` and its state.
type devProc struct {
	*devproc.Process
	state devstate.State
}

// startDev starts `flinkferry dev --no-demo` on free ports and waits for
// its ready line.
func startDev(ctx context.Context, c config) (*devProc, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	args := append([]string{"--no-demo", "--kafka-port=0", "--registry-port=0", "--artifacts-port=0"}, c.args...)
	p, err := devproc.Start(devproc.Options{Binary: c.bin, Args: args})
	if err != nil {
		return nil, err
	}
	st, err := p.State()
	if err != nil {
		p.Kill()
		return nil, err
	}
	return &devProc{Process: p, state: st}, nil
}

// stop interrupts dev as Ctrl-C does and waits (killing after 30 s).
func (d *devProc) stop() { d.Stop(30 * time.Second) }

// submitAll produces c.jobs submit requests at c.rate and returns, per
// job, the time from its produce to its RUNNING event on the status topic.
func submitAll(ctx context.Context, c config, st devstate.State) ([]time.Duration, error) {
	status := st.TopicPrefix + "status"
	cons, err := kgo.NewClient(kgo.SeedBrokers(st.KafkaBrokers...), kgo.ConsumeTopics(status),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()), kgo.AllowAutoTopicCreation())
	if err != nil {
		return nil, err
	}
	defer cons.Close()
	prod, err := kgo.NewClient(kgo.SeedBrokers(st.KafkaBrokers...), kgo.AllowAutoTopicCreation())
	if err != nil {
		return nil, err
	}
	defer prod.Close()
	// The consumer must hold its end offsets before the first produce.
	if err := cons.Ping(ctx); err != nil {
		return nil, err
	}
	warm, cancel := context.WithTimeout(ctx, 2*time.Second)
	cons.PollFetches(warm)
	cancel()

	var mu sync.Mutex
	sent := map[string]time.Time{}
	var lat []time.Duration
	all := make(chan struct{})
	go func() {
		for {
			fs := cons.PollFetches(ctx)
			if ctx.Err() != nil || fs.IsClientClosed() {
				return
			}
			now := time.Now()
			fs.EachRecord(func(r *kgo.Record) {
				var ev messages.JobStatusChanged
				if json.Unmarshal(r.Value, &ev) != nil || ev.To != messages.StateRunning {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if t, ok := sent[ev.Job.ClusterID]; ok {
					lat = append(lat, now.Sub(t))
					delete(sent, ev.Job.ClusterID)
					if len(lat) == c.jobs {
						close(all)
					}
				}
			})
		}
	}()
	run := time.Now().Unix()
	for i := range c.jobs {
		if c.rate > 0 {
			at := time.Duration(float64(i) / c.rate * float64(time.Second))
			time.Sleep(time.Until(time.Unix(run, 0).Add(time.Second).Add(at)))
		}
		id := fmt.Sprintf("bench-%d-%d", run%100000, i)
		mu.Lock()
		sent[id] = time.Now()
		mu.Unlock()
		rec := &kgo.Record{Topic: st.TopicPrefix + "submit", Key: []byte(st.Namespace + "/" + id),
			Value: dev.DemoRequest(id, st.ArtifactsURL+dev.JarPath)}
		if err := prod.ProduceSync(ctx, rec).FirstErr(); err != nil {
			return nil, fmt.Errorf("producing: %w", err)
		}
	}
	select {
	case <-all:
	case <-time.After(c.timeout):
		mu.Lock()
		defer mu.Unlock()
		return nil, fmt.Errorf("%d of %d jobs not RUNNING after %s", len(sent), c.jobs, c.timeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	mu.Lock()
	defer mu.Unlock()
	return slices.Clone(lat), nil
}
