package bus

import (
	"errors"

	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/messages"
)

// Machine-readable reasons of the failures the bus itself detects, written
// to the dead-letter header ReasonHeader. A permanent error carries its own
// reason (package failure) and decode failures use the codes of package
// messages (malformed_json, wrong_type, unknown_field, unknown_event_type,
// validation_failed, payload_too_large, ...).
const (
	// ReasonUnexpectedEventType: a known event type that this handler does not consume.
	ReasonUnexpectedEventType = "unexpected_event_type"
	// ReasonPanic: the handler panicked; retrying a deterministic crash is pointless.
	ReasonPanic = "handler_panic"
	// ReasonRetriesExhausted: transient errors outlasted the retry budget.
	ReasonRetriesExhausted = "retries_exhausted"
	// ReasonInvalidOutput: the handler produced an event that does not validate (a bug).
	ReasonInvalidOutput = "invalid_output"
)

// isPermanent reports whether retrying err is pointless: a permanent error
// (failure.IsPermanent) or a panic recovered by the middleware chain.
func isPermanent(err error) bool {
	if failure.IsPermanent(err) {
		return true
	}
	var panicErr middleware.RecoveredPanicError
	return errors.As(err, &panicErr)
}

// ReasonOf returns the machine-readable reason of err: the reason of a
// permanent error (failure.Reason), the code of a messages decode error,
// handler_panic for a recovered panic, and retries_exhausted for anything
// else.
func ReasonOf(err error) string {
	if failure.IsPermanent(err) {
		return failure.Reason(err)
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
