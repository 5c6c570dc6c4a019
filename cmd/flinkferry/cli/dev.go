package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flinkferry/flinkferry/cmd/flinkferry/dev"
	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/devstate"
	"github.com/flinkferry/flinkferry/internal/redisclient"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/ops"
)

// DevReadyLine is printed on its own line once `flinkferry dev` serves.
const DevReadyLine = devstate.ReadyLine

// devOptions are the flags of `flinkferry dev`.
type devOptions struct {
	kafka         []string
	redis         string
	registry      string
	kubeconfig    string
	noDemo        bool
	kafkaPort     int
	registryPort  int
	artifactsPort int
	logLevel      string
	examples      string
	kubeletDelay  time.Duration
	// embeddedRedis and fakeKube force the fallbacks (tests; see
	// dev.Options.EmbeddedRedis and dev.KubeOptions.FakeClientset).
	embeddedRedis bool
	fakeKube      bool
}

func newDevCmd() *cobra.Command {
	var o devOptions
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run everything locally: Kafka, Redis, registry, artifact server, the four workers, a (simulated) Kubernetes",
		Long: `Starts in one process an embedded Kafka-protocol broker (kfake), Redis (a
local redis-server without persistence when installed, else an embedded
miniredis), an in-memory OCI registry with stand-in Flink base images, an
artifact server with an example jar at /jars/wordcount.jar, the build,
submit and track workers, and a Kubernetes target: the cluster of
--kubeconfig/KUBECONFIG, else a simulated one (a local kube-apiserver +
etcd when their binaries are built, else client-go's in-memory fake
clientset; a kubelet simulation making JobManagers available after a short
delay and a Flink REST simulator answering for them). Simulated parts are
announced as such.

The alert worker runs too, with a webhook printer: every alert and its
resolution is printed here ("alert: [FIRING] ..."). 'flinkferry dev fail
<cluster-id>' makes a simulated job fail (FAILED; --restart 10s: RESTARTING,
then RUNNING again).

Unless --no-demo, the requests in examples/ (else a built-in one) are
submitted and followed until RUNNING; then one more application job,
day2-demo, is started, suspended (stop with a savepoint, its cluster
removed) and resumed from that savepoint, as 'flinkferry suspend' and
'resume' do; last, it is made to fail and Flink restarts it, so the alert
and its resolution are printed.
The other commands find this instance through its state file, removed on
exit (Ctrl-C).
"` + DevReadyLine + `" is printed once everything is up.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDev(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.kafka, "kafka", nil, "use these Kafka brokers instead of the embedded one")
	f.StringVar(&o.redis, "redis", "", "use this Redis URL instead of a local redis-server (or the embedded miniredis without one)")
	f.StringVar(&o.registry, "registry", "", "use this registry (host:port, plain HTTP) instead of the embedded one")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "deploy to this cluster (default: KUBECONFIG, else a simulated cluster)")
	f.BoolVar(&o.noDemo, "no-demo", false, "do not submit the example jobs")
	f.IntVar(&o.kafkaPort, "kafka-port", 9092, "port of the embedded Kafka broker (0: any free port)")
	f.IntVar(&o.registryPort, "registry-port", 5000, "port of the embedded registry (0: any free port)")
	f.IntVar(&o.artifactsPort, "artifacts-port", 8989, "port of the artifact server (0: any free port)")
	f.StringVar(&o.logLevel, "log-level", "warn", "workers' log level on stderr: debug, info, warn, error")
	f.StringVar(&o.examples, "examples", "examples", "directory of the demo requests")
	f.DurationVar(&o.kubeletDelay, "kubelet-delay", 2*time.Second, "simulated cluster: delay before a JobManager is available")
	cmd.AddCommand(newDevFailCmd())
	return cmd
}

// newDevFailCmd is `flinkferry dev fail <cluster-id>`: it asks the running
// dev instance (found through its state file) to make a simulated job
// fail.
func newDevFailCmd() *cobra.Command {
	var cause string
	var restart time.Duration
	cmd := &cobra.Command{
		Use:   "fail <cluster-id>",
		Short: "Make a simulated job of the running `flinkferry dev` fail, to see the alert and its resolution",
		Long: `Makes the Flink job of <cluster-id> (an application job of the running
'flinkferry dev', on its simulated cluster) fail: FAILED for good, with
--cause as its root exception, or with --restart D RESTARTING for D, then
RUNNING again. The dev terminal prints the alert, and its resolution once
the job runs again ('flinkferry resume <cluster-id> --from checkpoint' after FAILED).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return devFail(cmd.Context(), cmd.OutOrStdout(), args[0], cause, restart)
		},
	}
	cmd.Flags().StringVar(&cause, "cause", "", "root exception of the failure (default: a RuntimeException)")
	cmd.Flags().DurationVar(&restart, "restart", 0, "RESTARTING for this long, then RUNNING again (0: FAILED for good)")
	return cmd
}

func devFail(ctx context.Context, out io.Writer, id, cause string, restart time.Duration) error {
	if ctx == nil {
		ctx = context.Background()
	}
	st, err := devstate.Read()
	if err != nil {
		return fmt.Errorf("finding the running flinkferry dev: %w", err)
	}
	if st == nil || st.ArtifactsURL == "" {
		return errors.New("no flinkferry dev is running (start it with `flinkferry dev`)")
	}
	q := url.Values{}
	if cause != "" {
		q.Set("cause", cause)
	}
	if restart > 0 {
		q.Set("restart", restart.String())
	}
	u := st.ArtifactsURL + dev.ControlPath + "fail/" + url.PathEscape(id) + "?" + q.Encode()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("asking flinkferry dev: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("flinkferry dev: %s", strings.TrimSpace(string(b)))
	}
	if restart > 0 {
		fmt.Fprintf(out, "%s is RESTARTING for %s: the dev terminal prints the alert, then its resolution\n", id, restart)
	} else {
		fmt.Fprintf(out, "%s FAILED: the dev terminal prints the alert; `flinkferry resume %s --from checkpoint` runs it again and resolves it\n", id, id)
	}
	return nil
}

func runDev(ctx context.Context, out, errOut io.Writer, o devOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: level}))
	if o.kubeconfig == "" {
		o.kubeconfig = os.Getenv("KUBECONFIG")
	}
	fmt.Fprintln(out, "flinkferry dev: starting…")
	env, err := dev.Start(ctx, dev.Options{KafkaPort: o.kafkaPort, RegistryPort: o.registryPort, ArtifactPort: o.artifactsPort,
		Kafka: o.kafka, RedisURL: o.redis, Registry: o.registry, EmbeddedRedis: o.embeddedRedis, NoState: true})
	if err != nil {
		return err
	}
	defer env.Close()
	kube, err := dev.StartKube(ctx, dev.KubeOptions{Kubeconfig: o.kubeconfig, FakeClientset: o.fakeKube,
		StartDelay: o.kubeletDelay, Logger: log})
	if err != nil {
		return err
	}
	defer kube.Close()
	if err := dev.WriteState(env, kube.Kind); err != nil {
		return err
	}
	defer dev.RemoveState()
	workers, err := dev.StartWorkersWith(env, kube, log, dev.WorkerOptions{AlertOut: out})
	if err != nil {
		return err
	}
	env.SetControl(dev.ControlHandler(kube))
	defer func() {
		if err := workers.Stop(); err != nil {
			log.Error("stopping the workers", "error", err)
		}
	}()
	printBanner(out, env, kube)
	fmt.Fprintln(out, DevReadyLine)
	if !o.noDemo {
		if err := runDemo(ctx, out, env, kube, o.examples); err != nil && ctx.Err() == nil {
			fmt.Fprintf(out, "demo: %v\n", err)
		}
	}
	<-ctx.Done()
	fmt.Fprintln(out, "flinkferry dev: stopping")
	return nil
}

func printBanner(w io.Writer, env *dev.Env, kube *dev.Kube) {
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  Kafka        %s\n", strings.Join(env.KafkaBrokers, ","))
	fmt.Fprintf(w, "  Redis        %s\n", env.RedisURL)
	fmt.Fprintf(w, "  Registry     %s (plain HTTP)\n", env.Registry)
	fmt.Fprintf(w, "  Artifacts    %s  (example jar: %s)\n", env.ArtifactsURL, env.JarURL())
	if kube.Kubeconfig != "" {
		fmt.Fprintf(w, "  Kubernetes   %s, namespace %s, kubeconfig %s\n", kube.Kind, dev.Namespace, kube.Kubeconfig)
	} else {
		fmt.Fprintf(w, "  Kubernetes   %s, namespace %s, in this process only (no kubeconfig: kubectl cannot reach it)\n", kube.Kind, dev.Namespace)
	}
	if len(env.Simulated) > 0 || kube.Sim != nil {
		sim := append([]string(nil), env.Simulated...)
		switch {
		case kube.Kind == dev.KubeFake:
			sim = append(sim, "kubernetes (in-memory fake clientset, kubelet simulation)", "flink jobmanagers (REST simulator)")
		case kube.Sim != nil:
			sim = append(sim, "kubernetes (local apiserver, kubelet simulation)", "flink jobmanagers (REST simulator)")
		}
		fmt.Fprintf(w, "  Simulated    %s\n", strings.Join(sim, "; "))
	}
	fmt.Fprint(w, "  Alerts       printed here (alert worker, webhook printer); `flinkferry alerts` lists them")
	if kube.Sim != nil {
		fmt.Fprint(w, "; `flinkferry dev fail <cluster-id>` makes a job fail")
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "  Other shells (flinkferry submit/status/events find this instance without them):")
	fmt.Fprintf(w, "    export FLINKFERRY_KAFKA_BROKERS=%s\n", strings.Join(env.KafkaBrokers, ","))
	fmt.Fprintf(w, "    export FLINKFERRY_KAFKA_TOPIC_PREFIX=%s\n", dev.TopicPrefix)
	fmt.Fprintf(w, "    export FLINKFERRY_REDIS_URL=%s\n", env.RedisURL)
	fmt.Fprintln(w, "  Submit with kcat:")
	fmt.Fprintf(w, "    kcat -b %s -t %ssubmit -P -k flink-jobs/my-job request.json\n", env.KafkaBrokers[0], dev.TopicPrefix)
	fmt.Fprintln(w)
}

// demoFiles are the example requests submitted in order; a session job
// waits for its session cluster.
var demoFiles = []string{"application/wordcount.yaml", "session/cluster.yaml", "session/job.yaml"}

// runDemo submits the examples (or the built-in request when dir has
// none) and prints their state changes until each is RUNNING, then runs
// the built-in request as job day2DemoID, suspends it and resumes it.
func runDemo(ctx context.Context, out io.Writer, env *dev.Env, kube *dev.Kube, dir string) error {
	var reqs []*messages.SubmitRequested
	for _, f := range demoFiles {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		req, _, err := LoadSubmitRequest(f, data)
		if err != nil {
			return err
		}
		rebaseDevJar(req, env.ArtifactsURL)
		reqs = append(reqs, req)
	}
	if len(reqs) == 0 {
		req, _, err := LoadSubmitRequest("built-in demo", dev.DemoRequest("wordcount", env.JarURL()))
		if err != nil {
			return err
		}
		reqs = append(reqs, req)
	}
	cfg, err := dev.BusConfig(env)
	if err != nil {
		return err
	}
	p, err := bus.NewProducer(cfg, "flinkferry/dev")
	if err != nil {
		return fmt.Errorf("connecting to Kafka: %w", err)
	}
	defer p.Close()
	rdb, err := redisclient.New(ctx, redisclient.Config{URL: env.RedisURL, Timeout: 3 * time.Second})
	if err != nil {
		return err
	}
	defer rdb.Close()
	store, err := jobstore.Open(ctx, rdb, jobstore.Options{Prefix: jobstore.DefaultPrefix})
	if err != nil {
		return err
	}
	for _, req := range reqs {
		if err := submitDemo(ctx, out, p, cfg.Topics().Submit, store, req); err != nil {
			return err
		}
	}
	// A job of its own: the examples stay the runs of their requests,
	// so submitting one of them again changes nothing (README).
	req, _, err := LoadSubmitRequest("built-in demo", dev.DemoRequest(day2DemoID, env.JarURL()))
	if err != nil {
		return err
	}
	if err := submitDemo(ctx, out, p, cfg.Topics().Submit, store, req); err != nil {
		return err
	}
	if err := suspendResume(ctx, out, p, cfg.Topics().Control, store, req.Job); err != nil {
		return err
	}
	if kube.Sim != nil {
		if err := failDemo(ctx, out, kube, store, req.Job); err != nil {
			return err
		}
	}
	fmt.Fprintln(out, "demo: alerts: `flinkferry alerts`; make a job fail: `flinkferry dev fail "+day2DemoID+"`")
	fmt.Fprintln(out, "demo: done; try `flinkferry status`")
	return nil
}

// day2DemoID is the cluster id of the job the demo suspends and resumes.
const day2DemoID = "day2-demo"

// submitDemo submits req and prints its state changes until RUNNING.
func submitDemo(ctx context.Context, out io.Writer, p *bus.Producer, topic string, store *jobstore.Store, req *messages.SubmitRequested) error {
	if err := p.Send(ctx, req, topic); err != nil {
		return fmt.Errorf("submitting %s: %w", req.RequestID, err)
	}
	fmt.Fprintf(out, "demo: submitted %s (%s)\n", req.JobKey(), req.Mode)
	return followJob(ctx, out, store, req.JobKey(), demoTimeout, untilRunning)
}

// demoTimeout bounds each stage of the demo.
const demoTimeout = 3 * time.Minute

// suspendResume suspends the job (stop with a savepoint; its application
// cluster is removed), then resumes it from that savepoint, sending the
// control requests `flinkferry suspend` and `resume` send.
func suspendResume(ctx context.Context, out io.Writer, p *bus.Producer, topic string, store *jobstore.Store, job messages.JobRef) error {
	key := job.Key()
	id := "dev-demo-" + strings.TrimPrefix(NewRequestID(time.Now()), "cli-")
	suspend := &messages.ControlRequested{RequestID: id + "-suspend", Job: job, Operation: messages.OpSuspend}
	if err := p.Send(ctx, suspend, topic); err != nil {
		return fmt.Errorf("sending %s: %w", suspend.RequestID, err)
	}
	fmt.Fprintf(out, "demo: suspending %s…\n", key)
	var savepoint string
	err := followJob(ctx, out, store, key, demoTimeout, func(j *jobstore.Job) (string, bool, error) {
		op := j.Op
		switch {
		case op == nil || op.RequestID != suspend.RequestID:
			return "", false, nil // not recorded yet
		case op.Phase == ops.Done && op.Result == ops.Failed:
			return stateText(j), false, fmt.Errorf("%s: suspend failed: %s: %s", key, op.Reason, op.Message)
		case j.State == messages.StateSuspended:
			savepoint = op.Location
			return "SUSPENDED, savepoint " + savepoint, true, nil
		case j.State == messages.StateFailed || j.State == messages.StateLost:
			return stateText(j), false, fmt.Errorf("%s: %s %s", key, j.State, j.Message)
		case j.State == messages.StateRunning:
			return "", false, nil // SUSPENDING is not shown yet
		}
		return stateText(j), false, nil
	})
	if err != nil {
		return err
	}
	resume := &messages.ControlRequested{RequestID: id + "-resume", Job: job, Operation: messages.OpResume}
	if err := p.Send(ctx, resume, topic); err != nil {
		return fmt.Errorf("sending %s: %w", resume.RequestID, err)
	}
	fmt.Fprintf(out, "demo: resuming %s from its savepoint…\n", key)
	from := savepoint
	return followJob(ctx, out, store, key, demoTimeout, func(j *jobstore.Job) (string, bool, error) {
		if op := j.Op; op != nil && op.RequestID == resume.RequestID {
			from = op.Location
			if op.Phase == ops.Done && op.Result == ops.Failed {
				return stateText(j), false, fmt.Errorf("%s: resume failed: %s: %s", key, op.Reason, op.Message)
			}
		}
		if j.RequestID != resume.RequestID {
			return "", false, nil // the new run is not deployed yet
		}
		line, done, err := untilRunning(j)
		if j.State == messages.StateRunning {
			line = "RUNNING, restored from " + from
		}
		return line, done, err
	})
}

// demoRestart is how long the demo's failing job stays RESTARTING.
const demoRestart = 4 * time.Second

// failDemo makes the job fail in the simulator and Flink restart it: the
// alert worker prints the alert (job-restarting) and, once the job runs
// again, its resolution.
func failDemo(ctx context.Context, out io.Writer, kube *dev.Kube, store *jobstore.Store, job messages.JobRef) error {
	fmt.Fprintf(out, "demo: making %s fail; Flink restarts it in %s (flinkferry dev fail %s --restart %s)…\n",
		job.Key(), demoRestart, job.ClusterID, demoRestart)
	if err := kube.FailJob(job.ClusterID, dev.FailOptions{Restart: demoRestart}); err != nil {
		return err
	}
	restarted := false
	return followJob(ctx, out, store, job.Key(), demoTimeout, func(j *jobstore.Job) (string, bool, error) {
		if j.State == messages.StateRestarting {
			restarted = true
		}
		if !restarted {
			return "", false, nil
		}
		return untilRunning(j)
	})
}

// untilRunning follows a run until RUNNING (or FINISHED); FAILED and LOST
// end the demo.
func untilRunning(j *jobstore.Job) (string, bool, error) {
	switch j.State {
	case messages.StateRunning, messages.StateFinished:
		return stateText(j), true, nil
	case messages.StateFailed, messages.StateLost:
		return stateText(j), false, fmt.Errorf("%s: %s %s", j.Key, j.State, j.Message)
	}
	return stateText(j), false, nil
}

// stateText is "<state>", or "<state> (<reason>)".
func stateText(j *jobstore.Job) string {
	if j.Reason != "" {
		return string(j.State) + " (" + j.Reason + ")"
	}
	return string(j.State)
}

// followJob reads key in Redis every 200 ms and prints "demo: <key>
// <line>" whenever the line until makes of the job changes ("" prints
// nothing), until until says done or fails, or timeout.
func followJob(ctx context.Context, out io.Writer, store *jobstore.Store, key string, timeout time.Duration,
	until func(*jobstore.Job) (line string, done bool, err error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := ""
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		if j, err := store.Get(ctx, key); err == nil {
			line, done, err := until(j)
			if line != "" && line != last {
				last = line
				fmt.Fprintf(out, "demo: %s %s\n", key, line)
			}
			if done || err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			if last == "" {
				last = "waiting"
			}
			return fmt.Errorf("%s: still %s: %w", key, last, ctx.Err())
		case <-t.C:
		}
	}
}
