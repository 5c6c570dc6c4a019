package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/messages"
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

// maxPrintedProblems bounds what printProblems writes: every problem's
// text is bounded by package messages, their number here.
const maxPrintedProblems = 100

// printProblems writes a header naming the file and one
// "  <field path>: <message>" line per problem, at most maxPrintedProblems.
func printProblems(w io.Writer, e *InvalidRequestError) {
	if len(e.Problems) == 0 {
		fmt.Fprintf(w, "%s: invalid submit request, nothing submitted:\n  %v\n", e.File, e.Err)
		return
	}
	fmt.Fprintf(w, "%s: invalid submit request (%d problems), nothing submitted:\n", e.File, len(e.Problems))
	for i, p := range e.Problems {
		if i == maxPrintedProblems {
			fmt.Fprintf(w, "  ... and %d more\n", len(e.Problems)-i)
			break
		}
		field := p.Field
		if field == "" {
			field = "(request)"
		}
		fmt.Fprintf(w, "  %s: %s\n", field, p.Reason)
	}
}
