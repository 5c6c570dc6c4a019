package failure

import (
	"errors"
	"fmt"
)

// ReasonPermanent is the reason of a permanent error created without one.
const ReasonPermanent = "permanent_error"

// PermanentError marks an error that retrying cannot fix. Reason is a
// machine-readable code; the worker that gives up on the error reports it
// (dead-letter reason header, BuildFailed.Reason, DeployFailed.Reason).
type PermanentError struct {
	Reason string
	Err    error
}

// Error returns the wrapped error's message, or Reason when there is none.
func (e *PermanentError) Error() string {
	if e.Err == nil {
		return e.Reason
	}
	return e.Err.Error()
}

// Unwrap returns the wrapped error.
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent marks err as permanent with a machine-readable reason
// (ReasonPermanent when reason is empty). A nil err stays nil.
func Permanent(reason string, err error) error {
	if err == nil {
		return nil
	}
	if reason == "" {
		reason = ReasonPermanent
	}
	return &PermanentError{Reason: reason, Err: err}
}

// Permanentf is Permanent with an error formatted by fmt.Errorf (so %w
// wraps).
func Permanentf(reason, format string, args ...any) error {
	return Permanent(reason, fmt.Errorf(format, args...))
}

// IsPermanent reports whether err, or an error it wraps, is a
// *PermanentError.
func IsPermanent(err error) bool {
	var pe *PermanentError
	return errors.As(err, &pe)
}

// Reason returns the reason of the first *PermanentError in err's chain,
// or "" when err is not permanent.
func Reason(err error) string {
	var pe *PermanentError
	if errors.As(err, &pe) {
		return pe.Reason
	}
	return ""
}
