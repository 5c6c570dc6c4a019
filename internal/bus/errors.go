package bus

import (
	"context"
	"errors"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/flinkferry/flinkferry/messages"
)

// Machine-readable reasons written to the dead-letter header ReasonHeader.
// Decode failures use the codes of package messages (malformed_json,
// wrong_type, unknown_field, unknown_event_type, validation_failed,
// payload_too_large, ...).
const (
	// ReasonUnexpectedEventType: a known event type that this handler does not consume.
	ReasonUnexpectedEventType = "unexpected_event_type"
	// ReasonPanic: the handler panicked; retrying a deterministic crash is pointless.
	ReasonPanic = "handler_panic"
	// ReasonRetriesExhausted: transient errors outlasted the retry budget.
	ReasonRetriesExhausted = "retries_exhausted"
	// ReasonInvalidOutput: the handler produced an event that does not validate (a bug).
	ReasonInvalidOutput = "invalid_output"
	// ReasonPermanent is used for a permanent error created without a reason.
	ReasonPermanent = "permanent_error"
)

// PermanentError marks an error that retrying cannot fix. The message that
// caused it goes to the dead-letter topic with Reason as its reason header.
type PermanentError struct {
	Reason string
	Err    error
}

// Error implements error.
func (e *PermanentError) Error() string {
	if e.Err == nil {
		return e.Reason
	}
	return e.Err.Error()
}

// Unwrap returns the wrapped error.
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent marks err as permanent with a machine-readable reason. A nil
// err stays nil.
func Permanent(reason string, err error) error {
	if err == nil {
		return nil
	}
	if reason == "" {
		reason = ReasonPermanent
	}
	return &PermanentError{Reason: reason, Err: err}
}

// Permanentf is Permanent with a formatted error.
func Permanentf(reason, format string, args ...any) error {
	return Permanent(reason, fmt.Errorf(format, args...))
}

// IsPermanent reports whether err, or an error it wraps, is permanent.
// A panic recovered by the middleware chain counts as permanent.
func IsPermanent(err error) bool {
	var pe *PermanentError
	if errors.As(err, &pe) {
		return true
	}
	var panicErr middleware.RecoveredPanicError
	return errors.As(err, &panicErr)
}

// ReasonOf returns the machine-readable reason of err: the reason of a
// PermanentError, the code of a messages decode error, handler_panic for a
// recovered panic, and retries_exhausted for anything else.
func ReasonOf(err error) string {
	var pe *PermanentError
	if errors.As(err, &pe) {
		return pe.Reason
	}
	if r := messages.ReasonOf(err); r != "" {
		return r
	}
	var panicErr middleware.RecoveredPanicError
	if errors.As(err, &panicErr) {
		return ReasonPanic
	}
	return ReasonRetriesExhausted
}

// isShutdown reports whether err comes from the consumer being stopped,
// in which case the message must be redelivered, not dead-lettered.
func isShutdown(ctx context.Context, err error) bool {
	return errors.Is(err, context.Canceled) || (ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled))
}
