package flinkrest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Savepoint formats (Flink's SavepointFormatType).
const (
	// FormatCanonical is the state-backend independent format (Flink's
	// default), which any state backend can restore.
	FormatCanonical = "CANONICAL"
	// FormatNative is the state backend's own format: faster to take and
	// restore, restorable only by the same state backend.
	FormatNative = "NATIVE"
)

// MaxFailureStack bounds Failure.Stack; MaxFailureMessage bounds
// Failure.Message and Failure.RootCause (both cut on a rune boundary,
// "..." appended).
const (
	MaxFailureStack   = 16 << 10
	MaxFailureMessage = 4 << 10
)

// maxFailureClass bounds Failure.Class (a Java class name).
const maxFailureClass = 512

// Errors that classify answers of the asynchronous operations, for
// errors.Is. Each is returned together with the *Error of Flink's answer
// (errors.As reaches it, and its Message holds Flink's text).
var (
	// ErrOperationNotFound: Flink does not know the trigger id (404
	// "Operation not found under key"). The JobManager restarted (its
	// operation cache is in memory), the result expired from the cache
	// (rest.async.store-duration, default 5 minutes after completion),
	// or the operation was never triggered there.
	ErrOperationNotFound = errors.New("flink rest: asynchronous operation not found")
	// ErrJobTerminal: the job already reached another globally terminal
	// state (FINISHED or FAILED) and cannot be cancelled (409).
	ErrJobTerminal = errors.New("flink rest: job already terminal")
	// ErrInvalidTriggerID: a trigger id that is not 32 lower-case hex
	// characters; nothing was sent.
	ErrInvalidTriggerID = errors.New("flink rest: trigger id is not 32 lower-case hex characters")
)

// classifiedError is Flink's *Error answer that also matches a sentinel
// with errors.Is. Its text is the *Error's.
type classifiedError struct {
	kind error
	err  *Error
}

func (e *classifiedError) Error() string   { return e.err.Error() }
func (e *classifiedError) Unwrap() []error { return []error{e.kind, e.err} }

// classify returns err with kind attached when it is Flink's own answer
// (not a proxy's) with HTTP status status; otherwise err as it is.
func classify(err error, status int, kind error) error {
	var e *Error
	if errors.As(err, &e) && e.StatusCode == status && !e.NotFlink {
		return &classifiedError{kind: kind, err: e}
	}
	return err
}

// TriggerID returns the trigger id flinkferry uses for the Flink
// operation of the request seed (a control request's id): the first 16
// bytes of sha256("flinkferry/op/" + seed) as 32 lower-case hex
// characters.
//
// It is deterministic so that a redelivered control request, or a
// replica that takes over after a crash between triggering and recording,
// triggers the same Flink operation: Flink answers a repeated trigger id
// for the same job with the operation it already has (while its operation
// cache holds it: until the JobManager restarts, and up to
// rest.async.store-duration after the operation completed).
func TriggerID(seed string) string {
	sum := sha256.Sum256([]byte("flinkferry/op/" + seed))
	return hex.EncodeToString(sum[:16])
}

// validTriggerID reports whether s is 32 lower-case hex characters,
// Flink's TriggerId pattern.
func validTriggerID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// SavepointRequest is a savepoint of a running job (POST
// /jobs/{jobid}/savepoints, Flink's SavepointTriggerRequestBody).
type SavepointRequest struct {
	// TriggerID is the operation's id, chosen by the caller (TriggerID
	// derives it from a request id): required, 32 lower-case hex
	// characters, so that a repeated request triggers nothing twice.
	TriggerID string
	// Directory is where the savepoint is written; empty: the cluster's
	// state.savepoints.dir (Flink refuses the request with 400 when that
	// is not set either).
	Directory string
	// Format is FormatCanonical or FormatNative; empty: Flink's default
	// (canonical).
	Format string
	// CancelJob cancels the job once the savepoint completed.
	CancelJob bool
}

// StopRequest is a stop-with-savepoint (POST /jobs/{jobid}/stop, Flink's
// StopWithSavepointRequestBody): the job takes a savepoint and then
// FINISHES.
type StopRequest struct {
	// TriggerID, Directory and Format as in SavepointRequest.
	TriggerID string
	Directory string
	Format    string
	// Drain emits MAX_WATERMARK before the savepoint, firing every
	// event-time timer: for a job that is not resumed (a resumed job
	// would see those windows fire twice).
	Drain bool
}

// TriggerSavepoint triggers a savepoint of job jobID and returns the
// trigger id to poll with SavepointStatus: o.TriggerID, as Flink echoes
// it. Flink accepts the trigger (202) for any job id, even an unknown or
// not running one; the savepoint then fails and SavepointStatus reports
// why. A TriggerID Flink already knows for this job returns the existing
// operation, started once. A 400 (IsBadRequest) is a refusal, e.g. no
// directory and no state.savepoints.dir.
func (c *Client) TriggerSavepoint(ctx context.Context, base, jobID string, o SavepointRequest) (string, error) {
	body := struct {
		TargetDirectory string `json:"target-directory,omitempty"`
		CancelJob       bool   `json:"cancel-job"`
		FormatType      string `json:"formatType,omitempty"`
		TriggerID       string `json:"triggerId"`
	}{o.Directory, o.CancelJob, o.Format, o.TriggerID}
	return c.triggerOp(ctx, endpoint(base, "/jobs/"+pathEscape(jobID)+"/savepoints"), o.TriggerID, body)
}

// StopWithSavepoint stops job jobID with a savepoint and returns the
// trigger id to poll with SavepointStatus, as TriggerSavepoint does. On
// success the job ends FINISHED; when the savepoint fails the job keeps
// running.
func (c *Client) StopWithSavepoint(ctx context.Context, base, jobID string, o StopRequest) (string, error) {
	body := struct {
		TargetDirectory string `json:"targetDirectory,omitempty"`
		Drain           bool   `json:"drain"`
		FormatType      string `json:"formatType,omitempty"`
		TriggerID       string `json:"triggerId"`
	}{o.Directory, o.Drain, o.Format, o.TriggerID}
	return c.triggerOp(ctx, endpoint(base, "/jobs/"+pathEscape(jobID)+"/stop"), o.TriggerID, body)
}

// triggerOp POSTs body to url after checking the client-chosen trigger
// id, and returns the id Flink answers.
func (c *Client) triggerOp(ctx context.Context, url, triggerID string, body any) (string, error) {
	if !validTriggerID(triggerID) {
		return "", fmt.Errorf("%w: %q", ErrInvalidTriggerID, truncate(triggerID, 64))
	}
	return c.postForRequestID(ctx, url, body)
}

// postForRequestID POSTs body as JSON and returns the "request-id" of
// Flink's TriggerResponse, lower-cased.
func (c *Client) postForRequestID(ctx context.Context, url string, body any) (string, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return "", fmt.Errorf("encoding the request: %w", err)
	}
	var w struct {
		RequestID jsonString `json:"request-id"`
	}
	if err := c.doJSON(ctx, c.timeout, http.MethodPost, url, bytes.NewReader(b), "application/json", int64(len(b)), &w); err != nil {
		return "", err
	}
	id := strings.ToLower(strings.TrimSpace(string(w.RequestID)))
	if !validTriggerID(id) {
		return "", &DecodeError{Method: http.MethodPost, URL: sanitizeURL(url), StatusCode: http.StatusOK, ContentType: "application/json",
			Err: fmt.Errorf("the answer's request-id %q is not a trigger id", truncate(id, 64))}
	}
	return id, nil
}

// Failure is why an asynchronous operation failed: Flink's
// SerializedThrowable (the opaque serialized-throwable is not read).
type Failure struct {
	// Class is the exception's Java class, e.g.
	// "org.apache.flink.runtime.checkpoint.CheckpointException".
	Class string
	// Message is the exception's message: the first line of its stack
	// trace without the class (at most MaxFailureMessage bytes).
	Message string
	// RootCause is the innermost cause ("<class>: <message>", the last
	// "Caused by:" of the stack trace), or the exception itself when it
	// has no cause (at most MaxFailureMessage bytes).
	RootCause string
	// Stack is the full stack trace, causes included (at most
	// MaxFailureStack bytes).
	Stack string
}

// Error returns "<class>: <message>".
func (f *Failure) Error() string {
	if f.Message == "" {
		return f.Class
	}
	if f.Class == "" {
		return f.Message
	}
	return f.Class + ": " + f.Message
}

// SavepointResult is the state of a savepoint or stop-with-savepoint
// operation.
type SavepointResult struct {
	// Done is set once Flink completed the operation, successfully or
	// not: exactly one of Location and Failure is then set.
	Done bool
	// Location is where the savepoint was written.
	Location string
	// Failure is why the savepoint failed (a failed stop-with-savepoint
	// leaves the job running).
	Failure *Failure
}

// DisposalResult is the state of a savepoint disposal.
type DisposalResult struct {
	// Done is set once Flink completed the disposal; Failure is then set
	// when it failed (java.io.FileNotFoundException for a savepoint that
	// does not exist, e.g. one disposed before).
	Done    bool
	Failure *Failure
}

// failureJSON is a SerializedThrowable as Flink's serializer writes it
// ({"class", "stack-trace", "serialized-throwable"}), or tolerantly a bare
// string (a stack trace) or null.
type failureJSON struct {
	set   bool
	class string
	stack string
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *failureJSON) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*f = failureJSON{}
		return nil
	case len(b) > 0 && b[0] == '{':
		var w struct {
			Class      jsonString `json:"class"`
			StackTrace jsonString `json:"stack-trace"`
		}
		if err := json.Unmarshal(b, &w); err != nil {
			return err
		}
		*f = failureJSON{set: true, class: string(w.Class), stack: string(w.StackTrace)}
	default:
		var s jsonString
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = failureJSON{set: true, stack: string(s)}
	}
	return nil
}

// failure turns a decoded SerializedThrowable into a bounded Failure.
func (f *failureJSON) failure() *Failure {
	if !f.set {
		return nil
	}
	stack := strings.TrimSpace(f.stack)
	first, _, _ := strings.Cut(stack, "\n")
	first = strings.TrimSpace(first)
	class := strings.TrimSpace(f.class)
	if class == "" {
		class, _, _ = strings.Cut(first, ":")
		class = strings.TrimSpace(class)
	}
	msg := first
	if rest, ok := strings.CutPrefix(first, class); ok && class != "" {
		msg = strings.TrimSpace(strings.TrimPrefix(rest, ":"))
	}
	root := first
	for line := range strings.Lines(stack) {
		if r, ok := strings.CutPrefix(strings.TrimSpace(line), "Caused by:"); ok {
			root = strings.TrimSpace(r)
		}
	}
	if class == "" && stack == "" {
		class = "unknown"
	}
	if root == "" {
		root = class
	}
	return &Failure{
		Class: truncate(class, maxFailureClass), Message: truncate(msg, MaxFailureMessage),
		RootCause: truncate(root, MaxFailureMessage), Stack: truncate(stack, MaxFailureStack),
	}
}

// asyncResultJSON is Flink's AsynchronousOperationResult; operation is
// null while the operation runs.
type asyncResultJSON struct {
	Status *struct {
		ID jsonString `json:"id"`
	} `json:"status"`
	Operation *struct {
		Location     jsonString  `json:"location"`
		FailureCause failureJSON `json:"failure-cause"`
	} `json:"operation"`
}

// read returns whether the operation completed, its location and its
// failure, or an error text for an answer that is not a result.
func (w *asyncResultJSON) read() (done bool, location string, failure *Failure, problem string) {
	if w.Status == nil {
		return false, "", nil, "the answer has no status"
	}
	switch id := strings.ToUpper(strings.TrimSpace(string(w.Status.ID))); id {
	case "IN_PROGRESS":
		return false, "", nil, ""
	case "COMPLETED":
	default:
		return false, "", nil, fmt.Sprintf("unknown status %q", truncate(id, 64))
	}
	if w.Operation == nil {
		return true, "", nil, ""
	}
	return true, strings.TrimSpace(string(w.Operation.Location)), w.Operation.FailureCause.failure(), ""
}

// SavepointStatus returns the state of the savepoint or
// stop-with-savepoint triggerID of job jobID (GET
// /jobs/{jobid}/savepoints/{triggerid}). Flink's COMPLETED does not mean
// success: a completed result carries either the location or the failure.
// A trigger id Flink does not know for this job is an error for which
// errors.Is(err, ErrOperationNotFound) (and IsNotFound) is true: trigger
// again with the same id. A completed answer with neither a location nor
// a failure is a *DecodeError.
func (c *Client) SavepointStatus(ctx context.Context, base, jobID, triggerID string) (*SavepointResult, error) {
	path := "/jobs/" + pathEscape(jobID) + "/savepoints/" + pathEscape(triggerID)
	var w asyncResultJSON
	if err := c.getJSON(ctx, base, path, &w); err != nil {
		return nil, classify(err, http.StatusNotFound, ErrOperationNotFound)
	}
	done, location, failure, problem := w.read()
	if problem == "" && done && location == "" && failure == nil {
		problem = "the completed savepoint has neither a location nor a failure cause"
	}
	if problem != "" {
		return nil, &DecodeError{Method: http.MethodGet, URL: sanitizeURL(endpoint(base, path)), StatusCode: http.StatusOK,
			ContentType: "application/json", Err: errors.New(problem)}
	}
	r := &SavepointResult{Done: done, Failure: failure}
	if failure == nil {
		r.Location = location
	}
	return r, nil
}

// CancelJob cancels job jobID (PATCH /jobs/{jobid}?mode=cancel). Flink
// accepts (202) a running job, a job being cancelled and a cancelled one;
// a job that already FINISHED or FAILED is an error for which
// errors.Is(err, ErrJobTerminal) is true (409, Flink's message in the
// *Error), an unknown job one for which IsNotFound is true. Cancellation
// is asynchronous: the job passes through CANCELLING.
func (c *Client) CancelJob(ctx context.Context, base, jobID string) error {
	err := c.doJSON(ctx, c.timeout, http.MethodPatch, endpoint(base, "/jobs/"+pathEscape(jobID)+"?mode=cancel"), nil, "", -1, nil)
	return classify(err, http.StatusConflict, ErrJobTerminal)
}

// DisposeSavepoint asks the JobManager at base to delete the savepoint
// at path (POST /savepoint-disposal) and returns the trigger id to poll
// with DisposalStatus. Flink chooses that id (its API takes none from the
// client), so a repeated call starts another disposal, which fails once
// the savepoint is gone.
func (c *Client) DisposeSavepoint(ctx context.Context, base, path string) (string, error) {
	if strings.TrimSpace(path) == "" {
		return "", errors.New("flink rest: disposing a savepoint: empty path")
	}
	body := struct {
		SavepointPath string `json:"savepoint-path"`
	}{path}
	return c.postForRequestID(ctx, endpoint(base, "/savepoint-disposal"), body)
}

// DisposalStatus returns the state of the savepoint disposal triggerID
// (GET /savepoint-disposal/{triggerid}). An unknown trigger id is an
// error for which errors.Is(err, ErrOperationNotFound) is true.
func (c *Client) DisposalStatus(ctx context.Context, base, triggerID string) (*DisposalResult, error) {
	path := "/savepoint-disposal/" + pathEscape(triggerID)
	var w asyncResultJSON
	if err := c.getJSON(ctx, base, path, &w); err != nil {
		return nil, classify(err, http.StatusNotFound, ErrOperationNotFound)
	}
	done, _, failure, problem := w.read()
	if problem != "" {
		return nil, &DecodeError{Method: http.MethodGet, URL: sanitizeURL(endpoint(base, path)), StatusCode: http.StatusOK,
			ContentType: "application/json", Err: errors.New(problem)}
	}
	return &DisposalResult{Done: done, Failure: failure}, nil
}
