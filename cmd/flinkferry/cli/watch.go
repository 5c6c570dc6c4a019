package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

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

// sendWatched produces ev to topic. With wait it first starts a watcher at
// the status topic's end, so that no event about ev is missed, and returns
// it for the caller to follow and close; without, it returns nil.
func sendWatched(ctx context.Context, cfg bus.Config, ev messages.Event, topic string, wait bool) (*statusWatcher, error) {
	var w *statusWatcher
	if wait {
		var err error
		if w, err = newStatusWatcher(ctx, cfg, cfg.Topics().Status); err != nil {
			return nil, err
		}
	}
	if err := produce(ctx, cfg, ev, topic); err != nil {
		if w != nil {
			w.close()
		}
		return nil, fmt.Errorf("sending %s: %w", messages.RequestIDOf(ev), err)
	}
	return w, nil
}

// jobReader reads tracked jobs from the track worker's Redis (settings as
// for `flinkferry status`), connecting on first use. Any failure reads as
// "unknown": it only shortens a wait.
type jobReader struct {
	cmd       *cobra.Command
	store     *jobstore.Store
	closeConn func()
	tried     bool
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
		r.store, r.closeConn, _ = openJobStore(ctx, r.cmd, redisFlags{})
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
	if r != nil && r.closeConn != nil {
		r.closeConn()
	}
}

// statusHandler judges one decoded status event (value is the record's
// payload, for fields newer than package messages): finished says whether
// it ends the wait, err how (nil: success). ctx ends with the wait.
type statusHandler func(ctx context.Context, ev messages.Event, value []byte) (finished bool, err error)

// until reads the status topic and hands every event to handle until it
// finishes the wait. After timeout it prints "still <still()> after
// <timeout>" and returns a *JobFailedError of request requestID with
// reason timeout; an interrupt returns the context's error (the job goes
// on). Records that do not decode are skipped: not ours to judge, the
// events command shows them.
func (w *statusWatcher) until(ctx context.Context, requestID string, timeout time.Duration, p progress, still func() string, handle statusHandler) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		fs := w.cl.PollFetches(ctx)
		if ctx.Err() != nil {
			if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return ctx.Err()
			}
			state := still()
			msg := fmt.Sprintf("still %s after %s", state, timeout)
			p.fail(msg)
			return &JobFailedError{RequestID: requestID, State: state, Reason: "timeout", Message: msg}
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
				return
			}
			finished, done = handle(ctx, ev, r.Value)
		})
		if finished {
			return done
		}
	}
}

// follow prints the events about req until a final one or the timeout
// (submitFollow says what each means; an upgrade's steps are shown as
// they come).
func (w *statusWatcher) follow(ctx context.Context, req *messages.SubmitRequested, timeout time.Duration, p progress) error {
	f := newSubmitFollow(req, w.jobs, p)
	defer p.stop()
	return w.until(ctx, req.RequestID, timeout, p, func() string { return f.stage }, f.handle)
}

// jobEndedStates are the states in which a job stops before what a wait
// expects: `submit --wait` fails on them, and so does the --wait of the
// day-2 commands that expect another state.
var jobEndedStates = []messages.JobState{
	messages.StateFailed, messages.StateCanceled, messages.StateDeployFailed, messages.StateLost, messages.StateTerminated,
}

// runState judges a state change of run requestID (a submission, or the
// run a resume started): RUNNING (its line with the Web UI) and FINISHED
// succeed, jobEndedStates fail with a *JobFailedError.
func runState(requestID string, e *messages.JobStatusChanged) (string, verdict, error) {
	line := stateLine(e)
	switch {
	case e.To == messages.StateRunning:
		if e.WebUIURL != "" {
			line += ", Web UI " + e.WebUIURL
		}
		return line, succeeded, nil
	case e.To == messages.StateFinished:
		return line, succeeded, nil
	case slices.Contains(jobEndedStates, e.To):
		return line, failed, &JobFailedError{RequestID: requestID, State: string(e.To), Reason: e.Reason, Message: e.Message}
	}
	return line, pending, nil
}

// runFailed judges a BuildFailed or DeployFailed of run requestID: the
// line to print and the *JobFailedError. Any other event, or one of
// another run, returns a nil error.
func runFailed(ev messages.Event, requestID string) (string, error) {
	switch e := ev.(type) {
	case *messages.BuildFailed:
		if e.RequestID == requestID {
			return fmt.Sprintf("build failed: %s: %s", e.Reason, e.Message),
				&JobFailedError{RequestID: requestID, State: "BUILD_FAILED", Reason: e.Reason, Message: e.Message}
		}
	case *messages.DeployFailed:
		if e.RequestID == requestID {
			return fmt.Sprintf("deploy failed: %s: %s", e.Reason, e.Message),
				&JobFailedError{RequestID: requestID, State: string(messages.StateDeployFailed), Reason: e.Reason, Message: e.Message}
		}
	}
	return "", nil
}

// stateLine is "<state>", or "<state> (<reason>: <message>)".
func stateLine(e *messages.JobStatusChanged) string {
	line := string(e.To)
	if e.Reason != "" || e.Message != "" {
		line += " (" + strings.Trim(e.Reason+": "+e.Message, ": ") + ")"
	}
	return line
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
