package failure_test

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/flinkferry/flinkferry/internal/failure"
)

func TestPermanent(t *testing.T) {
	if err := failure.Permanent("x", nil); err != nil {
		t.Fatalf("Permanent(x, nil) = %v, want nil", err)
	}
	err := fmt.Errorf("building: %w", failure.Permanent("artifact_not_found", io.EOF))
	if !failure.IsPermanent(err) {
		t.Errorf("IsPermanent(%v) = false, want true", err)
	}
	if got, want := failure.Reason(err), "artifact_not_found"; got != want {
		t.Errorf("Reason() = %q, want %q", got, want)
	}
	if !errors.Is(err, io.EOF) {
		t.Errorf("errors.Is(%v, io.EOF) = false, want true", err)
	}
	if got, want := err.Error(), "building: EOF"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestPermanentWithoutReason(t *testing.T) {
	err := failure.Permanentf("", "no program in %s", "req-1")
	if got, want := failure.Reason(err), failure.ReasonPermanent; got != want {
		t.Errorf("Reason() = %q, want %q", got, want)
	}
	if got, want := err.Error(), "no program in req-1"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := (&failure.PermanentError{Reason: "bare"}).Error(), "bare"; got != want {
		t.Errorf("Error() without Err = %q, want %q", got, want)
	}
}

func TestTransient(t *testing.T) {
	for _, err := range []error{nil, io.EOF, fmt.Errorf("pushing: %w", io.ErrUnexpectedEOF)} {
		if failure.IsPermanent(err) {
			t.Errorf("IsPermanent(%v) = true, want false", err)
		}
		if got := failure.Reason(err); got != "" {
			t.Errorf("Reason(%v) = %q, want empty", err, got)
		}
	}
}
