package messages

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Machine codes of decode failures, found in DecodeError.Reason and returned
// by ReasonOf. They are stable: dead-letter headers and alerts use them.
const (
	// ReasonMalformedJSON: the payload is empty, is not JSON, is not a JSON
	// object, has data after the object, or repeats a field.
	ReasonMalformedJSON = "malformed_json"
	// ReasonWrongType: a field holds the wrong JSON type (a string where a
	// number is expected, ...). The FieldErrors name every such field.
	ReasonWrongType = "wrong_type"
	// ReasonUnknownField: a strictly decoded payload (SubmitRequested) has a
	// field the contract does not define. The FieldErrors name every one.
	ReasonUnknownField = "unknown_field"
	// ReasonUnknownEventType: the event type is not registered (see Types),
	// or a headerless record arrived on a topic without a default type.
	ReasonUnknownEventType = "unknown_event_type"
	// ReasonValidationFailed: the payload decoded but Validate rejected it.
	ReasonValidationFailed = "validation_failed"
	// ReasonPayloadTooLarge: the record value exceeds MaxPayloadBytes.
	ReasonPayloadTooLarge = "payload_too_large"
	// ReasonUnsupportedSpecVersion: ce_specversion is not "1.0".
	ReasonUnsupportedSpecVersion = "unsupported_specversion"
	// ReasonUnsupportedContentType: the content-type header is not
	// application/json (structured-mode CloudEvents are not supported).
	ReasonUnsupportedContentType = "unsupported_content_type"
	// ReasonInvalidCloudEvent: a record with ce_specversion lacks a required
	// attribute (ce_id, ce_source, ce_type) or has a malformed one (ce_time).
	ReasonInvalidCloudEvent = "invalid_cloudevent"
)

// ErrUnknownEventType is wrapped by every error about an event type that is
// not registered.
var ErrUnknownEventType = errors.New("unknown event type")

// ErrPayloadTooLarge is wrapped by every error about a payload larger than
// MaxPayloadBytes, from Encode as well as from DecodeMessage.
var ErrPayloadTooLarge = errors.New("payload too large")

// DecodeError reports why a payload or a Kafka record could not be turned
// into a valid Event. Reason is one of the Reason* machine codes; Err holds
// the details and, for wrong_type, unknown_field and validation_failed,
// wraps a FieldErrors listing every offending field.
type DecodeError struct {
	// Reason is the machine code, one of the Reason* constants.
	Reason string
	// Err holds the details.
	Err error
}

// Error returns the reason followed by the details.
func (e *DecodeError) Error() string {
	if e.Err == nil {
		return e.Reason
	}
	return e.Reason + ": " + e.Err.Error()
}

// Unwrap returns Err, so errors.As finds the FieldErrors inside.
func (e *DecodeError) Unwrap() error { return e.Err }

// ReasonOf returns the machine code of an error from this package, however
// deeply wrapped: the Reason of a *DecodeError, unknown_event_type for
// ErrUnknownEventType, payload_too_large for ErrPayloadTooLarge and
// validation_failed for a FieldErrors (as returned by Validate and Encode).
// It returns "" for any other error, including nil.
func ReasonOf(err error) string {
	if err == nil {
		return ""
	}
	var de *DecodeError
	if errors.As(err, &de) && de.Reason != "" {
		return de.Reason
	}
	switch {
	case errors.Is(err, ErrUnknownEventType):
		return ReasonUnknownEventType
	case errors.Is(err, ErrPayloadTooLarge):
		return ReasonPayloadTooLarge
	}
	var fe FieldErrors
	if errors.As(err, &fe) {
		return ReasonValidationFailed
	}
	return ""
}

// FieldError is one problem with one field. Field is the JSON path of the
// field, dots between object fields and brackets around list indexes and map
// keys: "kubernetes.namespace", "program.args[2]", "labels[team]". Reason
// says what is wrong, in words.
type FieldError struct {
	// Field is the JSON path of the field; empty for the whole payload.
	Field string
	// Reason says what is wrong with it.
	Reason string
}

// Error returns "field: reason" (only the reason when Field is empty).
func (e FieldError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// maxPrintedFieldErrors bounds FieldErrors.Error, whose text can end up in a
// Kafka header, a dead-letter record and a log line; the slice itself holds
// every problem found (validation checks a bounded number of entries per
// list, so the slice is bounded too).
const maxPrintedFieldErrors = 32

// FieldErrors lists every problem found in a payload, never only the first.
// Validate returns it sorted by field (indexes in numeric order).
type FieldErrors []FieldError

// Error returns one "field: reason" line per problem, sorted by field. After
// 32 lines it summarises the rest as "... and N more".
func (fe FieldErrors) Error() string {
	sorted := slices.Clone(fe)
	sorted.sort()
	var b strings.Builder
	for i, e := range sorted {
		if i == maxPrintedFieldErrors {
			fmt.Fprintf(&b, "\n... and %d more", len(sorted)-i)
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// sort orders the errors by field (natural order, so "args[2]" comes before
// "args[10]") and then by reason.
func (fe FieldErrors) sort() {
	slices.SortStableFunc(fe, func(a, b FieldError) int {
		if c := naturalCompare(a.Field, b.Field); c != 0 {
			return c
		}
		return strings.Compare(a.Reason, b.Reason)
	})
}

// naturalCompare compares strings byte by byte, except that runs of digits
// compare by numeric value.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digitPrefix(a), digitPrefix(b)
		if da != "" && db != "" {
			na, nb := strings.TrimLeft(da, "0"), strings.TrimLeft(db, "0")
			if c := len(na) - len(nb); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[len(da):], b[len(db):]
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func digitPrefix(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}
