package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flinkferry/flinkferry/messages"
)

// InvalidRequestError is returned by `flinkferry submit` when the request
// file does not hold a valid SubmitRequested, and by the day-2 commands
// (cancel, suspend, ...) when their arguments and flags make no valid
// ControlRequested. Nothing was produced. The command has already printed
// every problem; Problems holds them (empty when the file could not be
// read or parsed at all, then Err says why).
type InvalidRequestError struct {
	// Kind names the request: "control request", or "" for a submit
	// request.
	Kind string
	// File is the file name as given (<stdin> for -f -), or the command
	// line of a day-2 command ("suspend wordcount").
	File string
	// Problems are the field errors, each with its JSON path.
	Problems messages.FieldErrors
	// Err is the underlying decode error.
	Err error
}

// Error names the file and counts the problems.
func (e *InvalidRequestError) Error() string {
	if len(e.Problems) == 0 {
		return fmt.Sprintf("invalid %s %s: %v", e.kind(), e.File, e.Err)
	}
	return fmt.Sprintf("invalid %s %s (%d problems, nothing submitted)", e.kind(), e.File, len(e.Problems))
}

// kind is Kind, or "submit request".
func (e *InvalidRequestError) kind() string {
	if e.Kind == "" {
		return "submit request"
	}
	return e.Kind
}

// Unwrap returns the decode error.
func (e *InvalidRequestError) Unwrap() error { return e.Err }

// JobFailedError is returned by `flinkferry submit --wait` when the job
// did not reach RUNNING or FINISHED: the build or the deployment failed,
// the job reached a failed terminal state, or the wait timed out; and by
// the --wait of the day-2 commands (cancel, suspend, ...) when the
// operation failed, was refused, or the wait timed out.
type JobFailedError struct {
	// RequestID is the submitted (or day-2) request.
	RequestID string
	// State is the last state seen: a JobState, or BUILD_FAILED /
	// DEPLOY_FAILED, UPGRADE_FAILED (a step of the request's upgrade
	// failed: the old run goes on), REFUSED (the request, or its upgrade,
	// was refused), or the stage the wait timed out in.
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
	file    string
	wait    bool
	timeout time.Duration
	kafka   kafkaFlags
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

` + kafkaHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSubmit(cmd.Context(), cmd, o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.file, "file", "f", "", "submit request file, YAML or JSON (- for stdin)")
	f.BoolVar(&o.wait, "wait", false, "follow the job until RUNNING/FINISHED or a failure")
	f.DurationVar(&o.timeout, "timeout", 10*time.Minute, "how long --wait waits")
	o.kafka.register(f)
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
	cfg, err := submitBusConfig(cmd, o.kafka)
	if err != nil {
		return err
	}
	topics := cfg.Topics()
	if u := useDevArtifacts(req, cfg.Brokers); u != "" {
		fmt.Fprintf(out, "jar %s (the artifact server of the running flinkferry dev)\n", u)
	}

	w, err := sendWatched(ctx, cfg, req, topics.Submit, o.wait)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "submitted %s: %s (%s) to %s\n", req.RequestID, req.JobKey(), req.Mode, topics.Submit)
	if w == nil {
		return nil
	}
	defer w.close()
	w.jobs = &jobReader{cmd: cmd}
	defer w.jobs.close()
	return w.follow(ctx, req, o.timeout, newProgress(out))
}

// maxPrintedProblems bounds what printProblems writes: every problem's
// text is bounded by package messages, their number here.
const maxPrintedProblems = 100

// printProblems writes a header naming the file and one
// "  <field path>: <message>" line per problem, at most maxPrintedProblems.
func printProblems(w io.Writer, e *InvalidRequestError) {
	if len(e.Problems) == 0 {
		fmt.Fprintf(w, "%s: invalid %s, nothing submitted:\n  %v\n", e.File, e.kind(), e.Err)
		return
	}
	fmt.Fprintf(w, "%s: invalid %s (%d problems), nothing submitted:\n", e.File, e.kind(), len(e.Problems))
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
