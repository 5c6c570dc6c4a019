package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"golang.org/x/term"
	"sigs.k8s.io/yaml"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/devstate"
	"github.com/flinkferry/flinkferry/internal/redisclient"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

// InvalidRequestError is returned by `flinkferry submit` when the request
// file does not hold a valid SubmitRequested. Nothing was produced. The
// command has already printed every problem; Problems holds them (empty
// when the file could not be read or parsed at all, then Err says why).
type InvalidRequestError struct {
	// File is the file name as given (<stdin> for -f -).
	File string
	// Problems are the field errors, each with its JSON path.
	Problems messages.FieldErrors
	// Err is the underlying decode error.
	Err error
}

// Error names the file and counts the problems.
func (e *InvalidRequestError) Error() string {
	if len(e.Problems) == 0 {
		return fmt.Sprintf("invalid submit request %s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("invalid submit request %s (%d problems, nothing submitted)", e.File, len(e.Problems))
}

// Unwrap returns the decode error.
func (e *InvalidRequestError) Unwrap() error { return e.Err }

// JobFailedError is returned by `flinkferry submit --wait` when the job
// did not reach RUNNING or FINISHED: the build or the deployment failed,
// the job reached a failed terminal state, or the wait timed out.
type JobFailedError struct {
	// RequestID is the submitted request.
	RequestID string
	// State is the last state seen: a JobState, or BUILD_FAILED /
	// DEPLOY_FAILED, or the stage the wait timed out in.
	State string
	// Reason is the machine reason of the failure ("timeout" on timeout).
	Reason string
	// Message says what happened, in words.
	Message string
}

// Error returns the state, reason and message.
func (e *JobFailedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "request %s: %s", e.RequestID, e.State)
	if e.Reason != "" {
		fmt.Fprintf(&b, " (%s)", e.Reason)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	return b.String()
}

// submitOptions are the flags of `flinkferry submit`.
type submitOptions struct {
	file        string
	wait        bool
	timeout     time.Duration
	brokers     []string
	topicPrefix string
}

func newSubmitCmd() *cobra.Command {
	var o submitOptions
	cmd := &cobra.Command{
		Use:   "submit -f job.yaml [--wait]",
		Short: "Validate a submit request (YAML or JSON) and produce it to the submit topic",
		Long: `Reads a SubmitRequested (YAML or JSON; -f - reads stdin), validates it locally
and prints every problem with its field path; an invalid request produces
nothing. A missing request_id is generated and printed.

With --wait, follows the job on the status topic (image pushed, objects
applied, job states) and exits 0 on RUNNING (or FINISHED), 1 on a failure or
after --timeout.

Kafka: --brokers/--topic-prefix, else FLINKFERRY_KAFKA_* variables, else the
running 'flinkferry dev', else 127.0.0.1:9092 and "flinkferry.".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSubmit(cmd.Context(), cmd, o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.file, "file", "f", "", "submit request file, YAML or JSON (- for stdin)")
	f.BoolVar(&o.wait, "wait", false, "follow the job until RUNNING/FINISHED or a failure")
	f.DurationVar(&o.timeout, "timeout", 10*time.Minute, "how long --wait waits")
	f.StringSliceVar(&o.brokers, "brokers", nil, "Kafka bootstrap brokers (default: FLINKFERRY_KAFKA_BROKERS, flinkferry dev, 127.0.0.1:9092)")
	f.StringVar(&o.topicPrefix, "topic-prefix", "", "topic prefix (default: FLINKFERRY_KAFKA_TOPIC_PREFIX, flinkferry dev, flinkferry.)")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

func runSubmit(ctx context.Context, cmd *cobra.Command, o submitOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	out := cmd.OutOrStdout()
	data, err := readRequestFile(o.file, cmd.InOrStdin())
	if err != nil {
		return err
	}
	label := o.file
	if label == "-" {
		label = "<stdin>"
	}
	req, generated, err := LoadSubmitRequest(label, data)
	if err != nil {
		var ire *InvalidRequestError
		if errors.As(err, &ire) {
			printProblems(cmd.ErrOrStderr(), ire)
		}
		return err
	}
	if generated {
		fmt.Fprintf(out, "request_id %s (generated)\n", req.RequestID)
	}
	cfg, err := submitBusConfig(cmd, o)
	if err != nil {
		return err
	}
	topics := cfg.Topics()
	if u := useDevArtifacts(req, cfg.Brokers); u != "" {
		fmt.Fprintf(out, "jar %s (the artifact server of the running flinkferry dev)\n", u)
	}

	var w *statusWatcher
	if o.wait {
		// Start at the status topic's end before producing, so no event
		// about the request is missed.
		if w, err = newStatusWatcher(ctx, cfg, topics.Status); err != nil {
			return err
		}
		defer w.close()
		w.jobs = &jobReader{cmd: cmd}
		defer w.jobs.close()
	}
	p, err := bus.NewProducer(cfg, "flinkferry/cli", slog.New(slog.DiscardHandler))
	if err != nil {
		return fmt.Errorf("connecting to Kafka: %w", err)
	}
	sendErr := p.Send(ctx, req, topics.Submit)
	closeErr := p.Close()
	if err := errors.Join(sendErr, closeErr); err != nil {
		return fmt.Errorf("submitting %s: %w", req.RequestID, err)
	}
	fmt.Fprintf(out, "submitted %s: %s (%s) to %s\n", req.RequestID, req.JobKey(), req.Mode, topics.Submit)
	if !o.wait {
		return nil
	}
	return w.follow(ctx, req, o.timeout, newProgress(out))
}

// readRequestFile reads name, or in when name is "-".
func readRequestFile(name string, in io.Reader) ([]byte, error) {
	if name == "" {
		return nil, errors.New("-f is required (a file, or - for stdin)")
	}
	var (
		data []byte
		err  error
	)
	if name == "-" {
		data, err = io.ReadAll(io.LimitReader(in, 4*messages.MaxPayloadBytes))
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, fmt.Errorf("reading submit request %s: %w", name, err)
	}
	return data, nil
}

// LoadSubmitRequest turns a YAML or JSON submit request into a validated
// SubmitRequested, decoded strictly like the build worker does (unknown
// fields are errors). A missing or empty request_id is generated ("cli-"
// + UTC time + random hex) and generated is true. name only labels errors.
// An invalid request yields an *InvalidRequestError listing every problem.
func LoadSubmitRequest(name string, data []byte) (req *messages.SubmitRequested, generated bool, err error) {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")
		return nil, false, &InvalidRequestError{File: name, Err: fmt.Errorf("not YAML or JSON: %s", msg)}
	}
	js, generated = withRequestID(js)
	ev, err := messages.Decode(messages.TypeSubmitRequested, js)
	if err != nil {
		ire := &InvalidRequestError{File: name, Err: err}
		errors.As(err, &ire.Problems)
		return nil, false, ire
	}
	return ev.(*messages.SubmitRequested), generated, nil
}

// withRequestID sets a generated request_id in a JSON object that has none
// (or an empty one). Anything else is returned unchanged, for Decode to
// judge.
func withRequestID(js []byte) ([]byte, bool) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(js, &obj); err != nil || obj == nil {
		return js, false
	}
	if raw, ok := obj["request_id"]; ok && !bytes.Equal(bytes.TrimSpace(raw), []byte(`""`)) && !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return js, false
	}
	id, _ := json.Marshal(NewRequestID(time.Now()))
	obj["request_id"] = id
	out, err := json.Marshal(obj)
	if err != nil {
		return js, false
	}
	return out, true
}

// NewRequestID returns a fresh request id: "cli-", the UTC time to the
// second, and 6 random hex characters, e.g. cli-20250601T101530Z-3fa9c2.
func NewRequestID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return "cli-" + now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// printProblems writes a header naming the file and one
// "  <field path>: <message>" line per problem.
func printProblems(w io.Writer, e *InvalidRequestError) {
	if len(e.Problems) == 0 {
		fmt.Fprintf(w, "%s: invalid submit request, nothing submitted:\n  %v\n", e.File, e.Err)
		return
	}
	fmt.Fprintf(w, "%s: invalid submit request (%d problems), nothing submitted:\n", e.File, len(e.Problems))
	for _, p := range e.Problems {
		field := p.Field
		if field == "" {
			field = "(request)"
		}
		fmt.Fprintf(w, "  %s: %s\n", field, p.Reason)
	}
}

// submitBusConfig resolves the Kafka settings: flag > FLINKFERRY_KAFKA_*
// variable > running flinkferry dev > default.
func submitBusConfig(cmd *cobra.Command, o submitOptions) (bus.Config, error) {
	var cfg bus.Config
	if err := envconfig.Process("FLINKFERRY_KAFKA", &cfg); err != nil {
		return cfg, fmt.Errorf("reading FLINKFERRY_KAFKA_* variables: %w", err)
	}
	_, brokersSet := os.LookupEnv("FLINKFERRY_KAFKA_BROKERS")
	_, prefixSet := os.LookupEnv("FLINKFERRY_KAFKA_TOPIC_PREFIX")
	if !brokersSet || !prefixSet {
		if st, err := devstate.Read(); err == nil {
			if !brokersSet && len(st.KafkaBrokers) > 0 {
				cfg.Brokers = st.KafkaBrokers
			}
			if !prefixSet && st.TopicPrefix != "" {
				cfg.TopicPrefix = st.TopicPrefix
			}
		}
	}
	if cmd.Flags().Changed("brokers") {
		cfg.Brokers = o.brokers
	}
	if cmd.Flags().Changed("topic-prefix") {
		cfg.TopicPrefix = o.topicPrefix
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// DevArtifactsURL is the artifact server of `flinkferry dev` on its default
// port, where the jars of examples/ are.
const DevArtifactsURL = "http://127.0.0.1:8989"

// useDevArtifacts points a jar URL under DevArtifactsURL at the artifact
// server of the running `flinkferry dev` when the request goes to that
// dev's Kafka and dev serves its artifacts on another port
// (--artifacts-port), so examples/ work with any dev. It returns the new
// URL, or "" when nothing changed.
func useDevArtifacts(req *messages.SubmitRequested, brokers []string) string {
	if !hasDevJar(req) {
		return ""
	}
	st, err := devstate.Read()
	if err != nil || st.ArtifactsURL == "" || st.ArtifactsURL == DevArtifactsURL || !slices.Equal(st.KafkaBrokers, brokers) {
		return ""
	}
	rebaseDevJar(req, st.ArtifactsURL)
	return req.Program.Jar.URL
}

// hasDevJar reports whether req's jar is under DevArtifactsURL.
func hasDevJar(req *messages.SubmitRequested) bool {
	return req.Program != nil && strings.HasPrefix(req.Program.Jar.URL, DevArtifactsURL+"/")
}

// rebaseDevJar points a jar under DevArtifactsURL at the artifact server
// at base.
func rebaseDevJar(req *messages.SubmitRequested, base string) {
	if hasDevJar(req) {
		req.Program.Jar.URL = base + strings.TrimPrefix(req.Program.Jar.URL, DevArtifactsURL)
	}
}

// statusWatcher reads the status topic from the end offsets it found at
// creation.
type statusWatcher struct {
	cl    *kgo.Client
	topic string
	// jobs, when set, reads a job's state when a status event cannot come.
	jobs *jobReader
}

// newStatusWatcher lists the end offsets of the status topic and starts a
// consumer there. A topic that does not exist yet is read from its start.
func newStatusWatcher(ctx context.Context, cfg bus.Config, topic string) (*statusWatcher, error) {
	opts, err := kgoSecurity(cfg)
	if err != nil {
		return nil, err
	}
	opts = append(opts, kgo.SeedBrokers(cfg.Brokers...), kgo.ClientID("flinkferry-cli"))
	admin, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to Kafka: %w", err)
	}
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	ends, err := kadm.NewClient(admin).ListEndOffsets(lctx, topic)
	cancel()
	admin.Close()
	if err != nil {
		return nil, fmt.Errorf("listing the end offsets of %s: %w", topic, err)
	}
	offsets := map[int32]kgo.Offset{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil {
			offsets[o.Partition] = kgo.NewOffset().At(o.Offset)
		}
	})
	if len(offsets) > 0 {
		opts = append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}))
	} else {
		opts = append(opts, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to Kafka: %w", err)
	}
	return &statusWatcher{cl: cl, topic: topic}, nil
}

func (w *statusWatcher) close() { w.cl.Close() }

// jobReader reads tracked jobs from the track worker's Redis (settings as
// for `flinkferry status`), connecting on first use. Any failure reads as
// "unknown": it only shortens a wait.
type jobReader struct {
	cmd   *cobra.Command
	rdb   *redis.Client
	store *jobstore.Store
	tried bool
}

// get returns the job stored under key, or nil.
func (r *jobReader) get(ctx context.Context, key string) *jobstore.Job {
	if r == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if !r.tried {
		r.tried = true
		rcfg, prefix, err := statusRedisConfig(r.cmd, statusOptions{})
		if err != nil {
			return nil
		}
		redis.SetLogger(quietRedisLogger{})
		if r.rdb, err = redisclient.New(ctx, rcfg); err != nil {
			return nil
		}
		if r.store, err = jobstore.New(r.rdb, jobstore.Options{Prefix: prefix}); err != nil {
			return nil
		}
	}
	if r.store == nil {
		return nil
	}
	j, err := r.store.Get(ctx, key)
	if err != nil {
		return nil
	}
	return j
}

func (r *jobReader) close() {
	if r != nil && r.rdb != nil {
		r.rdb.Close()
	}
}

// follow prints the events about req until a final one or the timeout.
func (w *statusWatcher) follow(ctx context.Context, req *messages.SubmitRequested, timeout time.Duration, p progress) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	stage := "building image"
	if req.Mode == messages.ModeSession {
		stage = "uploading jar"
	}
	state := ""
	p.start(stage)
	defer p.stop()
	for {
		fs := w.cl.PollFetches(ctx)
		if ctx.Err() != nil {
			still := stage
			if state != "" {
				still = state
			}
			if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return ctx.Err() // interrupted: the job goes on
			}
			msg := fmt.Sprintf("still %s after %s", still, timeout)
			p.fail(msg)
			return &JobFailedError{RequestID: req.RequestID, State: still, Reason: "timeout", Message: msg}
		}
		var done error
		finished := false
		fs.EachRecord(func(r *kgo.Record) {
			if finished {
				return
			}
			h := make(map[string]string, len(r.Headers))
			for _, x := range r.Headers {
				h[x.Key] = string(x.Value)
			}
			ev, _, err := messages.DecodeMessage(h, messages.TypeJobStatusChanged, r.Value)
			if err != nil {
				return // not ours to judge: the events command shows it
			}
			switch e := ev.(type) {
			case *messages.ImageBuilt:
				if e.RequestID != req.RequestID {
					return
				}
				p.done(describeImageBuilt(e))
				stage = "applying objects"
				p.start(stage)
			case *messages.BuildFailed:
				if e.RequestID != req.RequestID {
					return
				}
				p.fail(fmt.Sprintf("build failed: %s: %s", e.Reason, e.Message))
				finished, done = true, &JobFailedError{RequestID: req.RequestID, State: "BUILD_FAILED", Reason: e.Reason, Message: e.Message}
			case *messages.Deployed:
				if e.RequestID != req.RequestID {
					return
				}
				p.done(describeDeployed(e))
				stage = "starting"
				// A request sent again (same request_id) changes nothing:
				// a job already RUNNING or FINISHED stays so and no status
				// event comes. Its state is read from Redis instead.
				if j := w.jobs.get(ctx, req.JobKey()); j != nil && j.RequestID == req.RequestID &&
					(j.State == messages.StateRunning || j.State == messages.StateFinished) {
					state = string(j.State)
					finished, done = w.onState(req, &messages.JobStatusChanged{To: j.State, Reason: j.Reason, Message: j.Message, WebUIURL: j.WebUIURL}, p)
					return
				}
				p.start(stage)
			case *messages.DeployFailed:
				if e.RequestID != req.RequestID {
					return
				}
				p.fail(fmt.Sprintf("deploy failed: %s: %s", e.Reason, e.Message))
				finished, done = true, &JobFailedError{RequestID: req.RequestID, State: string(messages.StateDeployFailed), Reason: e.Reason, Message: e.Message}
			case *messages.JobStatusChanged:
				if e.RequestID != req.RequestID && e.JobKey() != req.JobKey() {
					return
				}
				state = string(e.To)
				finished, done = w.onState(req, e, p)
				if !finished {
					p.start(state)
				}
			}
		})
		if finished {
			return done
		}
	}
}

// onState prints a state change and says whether it ends the wait, and how.
func (w *statusWatcher) onState(req *messages.SubmitRequested, e *messages.JobStatusChanged, p progress) (bool, error) {
	line := string(e.To)
	if e.Reason != "" || e.Message != "" {
		line += " (" + strings.Trim(e.Reason+": "+e.Message, ": ") + ")"
	}
	switch e.To {
	case messages.StateRunning:
		if e.WebUIURL != "" {
			line += ", Web UI " + e.WebUIURL
		}
		p.done(line)
		return true, nil
	case messages.StateFinished:
		p.done(line)
		return true, nil
	case messages.StateFailed, messages.StateCanceled, messages.StateDeployFailed, messages.StateLost, messages.StateTerminated:
		p.fail(line)
		return true, &JobFailedError{RequestID: req.RequestID, State: string(e.To), Reason: e.Reason, Message: e.Message}
	}
	p.done(line)
	return false, nil
}

// describeImageBuilt is "pushed <repo>@sha256:<12 hex> (<size>, <duration>)".
func describeImageBuilt(e *messages.ImageBuilt) string {
	ref := e.Image
	if ref == "" {
		ref = e.JarArtifact
	}
	if i := strings.Index(ref, "@sha256:"); i >= 0 && len(ref) > i+8+12 {
		ref = ref[:i+8+12]
	}
	extra := []string{formatBytes(e.SizeBytes), (time.Duration(e.DurationMS) * time.Millisecond).String()}
	if e.CacheHit {
		extra = append(extra, "cached")
	}
	return fmt.Sprintf("pushed %s (%s)", ref, strings.Join(extra, ", "))
}

// describeDeployed is "objects applied (<n> objects), REST <url>".
func describeDeployed(e *messages.Deployed) string {
	s := fmt.Sprintf("objects applied (%d objects)", len(e.ObjectUIDs))
	if e.RestEndpoint != "" {
		s += ", REST " + e.RestEndpoint
	}
	return s
}

// formatBytes prints n in B, KiB, MiB or GiB with one decimal.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/unit, 0
	for v >= unit && i < 2 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %s", v, []string{"KiB", "MiB", "GiB"}[i])
}

// kgoSecurity turns the SASL and TLS settings of cfg into franz-go options.
// The password goes to the client only, never into an error.
func kgoSecurity(cfg bus.Config) ([]kgo.Opt, error) {
	var opts []kgo.Opt
	switch m := strings.ToUpper(cfg.SASL.Mechanism); m {
	case "":
	case "PLAIN":
		opts = append(opts, kgo.SASL(plain.Auth{User: cfg.SASL.Username, Pass: cfg.SASL.Password}.AsMechanism()))
	case "SCRAM-SHA-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: cfg.SASL.Username, Pass: cfg.SASL.Password}.AsSha256Mechanism()))
	case "SCRAM-SHA-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: cfg.SASL.Username, Pass: cfg.SASL.Password}.AsSha512Mechanism()))
	default:
		return nil, fmt.Errorf("kafka: SASL_MECHANISM %q is not supported", m)
	}
	if cfg.TLS.Enabled {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.TLS.InsecureSkipVerify} //nolint:gosec // opt-in for tests
		if cfg.TLS.CAFile != "" {
			pem, err := os.ReadFile(cfg.TLS.CAFile)
			if err != nil {
				return nil, fmt.Errorf("reading kafka CA file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("kafka CA file %s holds no PEM certificate", cfg.TLS.CAFile)
			}
			tc.RootCAs = pool
		}
		if cfg.TLS.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("loading kafka client certificate: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	return opts, nil
}

// progress shows the stages of a wait: plain lines, or on a terminal a
// live spinner line per stage with its elapsed time.
type progress interface {
	// start begins a stage.
	start(stage string)
	// done ends the current stage with a success line.
	done(line string)
	// fail ends the current stage with a failure line.
	fail(line string)
	// stop ends the display.
	stop()
}

// newProgress returns a spinner on a terminal, plain lines otherwise.
func newProgress(w io.Writer) progress {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return newSpinner(f)
	}
	return &plainProgress{w: w}
}

// plainProgress prints one line per finished stage, for logs and pipes.
type plainProgress struct {
	w io.Writer
}

func (p *plainProgress) start(string) {}

func (p *plainProgress) done(line string) { fmt.Fprintln(p.w, line) }

func (p *plainProgress) fail(line string) { fmt.Fprintln(p.w, line) }

func (p *plainProgress) stop() {}

// spinner redraws the current stage's line every 100 ms.
type spinner struct {
	w     io.Writer
	lines chan spinnerMsg
	quit  chan struct{}
	ended chan struct{}
}

type spinnerMsg struct {
	kind string // start, done, fail
	text string
}

func newSpinner(w io.Writer) *spinner {
	s := &spinner{w: w, lines: make(chan spinnerMsg), quit: make(chan struct{}), ended: make(chan struct{})}
	go s.loop()
	return s
}

func (s *spinner) loop() {
	defer close(s.ended)
	frames := []rune("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	stage, since, i := "", time.Now(), 0
	draw := func() {
		if stage != "" {
			fmt.Fprintf(s.w, "\r\033[K%c %s %s", frames[i%len(frames)], stage, time.Since(since).Round(100*time.Millisecond))
		}
	}
	for {
		select {
		case m := <-s.lines:
			switch m.kind {
			case "start":
				stage, since = m.text, time.Now()
			case "done", "fail":
				mark := "✓"
				if m.kind == "fail" {
					mark = "✗"
				}
				fmt.Fprintf(s.w, "\r\033[K%s %s [%s]\n", mark, m.text, time.Since(since).Round(100*time.Millisecond))
				stage = ""
			}
			draw()
		case <-tick.C:
			i++
			draw()
		case <-s.quit:
			if stage != "" {
				fmt.Fprint(s.w, "\r\033[K")
			}
			return
		}
	}
}

func (s *spinner) start(stage string) { s.lines <- spinnerMsg{"start", stage} }
func (s *spinner) done(line string)   { s.lines <- spinnerMsg{"done", line} }
func (s *spinner) fail(line string)   { s.lines <- spinnerMsg{"fail", line} }
func (s *spinner) stop() {
	select {
	case <-s.ended:
	default:
		close(s.quit)
		<-s.ended
	}
}
