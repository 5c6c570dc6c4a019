package messages

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// MaxPayloadBytes is the largest payload accepted, in bytes. DecodeMessage
// rejects larger record values before parsing them, and Encode refuses to
// produce them. It stays well below the brokers' message.max.bytes
// (1,048,588 bytes on Kafka since 2.x, 1,000,012 on older brokers and on
// kfake) so that a record at the limit, with its key and headers, is still
// accepted, and a larger one reaches a worker to be dead-lettered with
// reason payload_too_large instead of being refused at produce time.
const MaxPayloadBytes = 900_000

// Decode decodes a JSON payload into a new value of the registered
// eventType and validates it. Commands (SubmitRequested) are decoded
// strictly, unknown fields being errors; events flinkferry produces are
// decoded tolerantly, unknown fields being ignored.
//
// Every error is a *DecodeError, with Reason unknown_event_type,
// payload_too_large, malformed_json (empty, not JSON, not an object,
// trailing data, a repeated field), unknown_field, wrong_type or
// validation_failed, in that order of precedence. For the last three,
// errors.As finds a FieldErrors with every offending field.
func Decode(eventType string, data []byte) (Event, error) {
	reg, ok := registry[eventType]
	if !ok {
		return nil, &DecodeError{Reason: ReasonUnknownEventType, Err: fmt.Errorf("%w %q", ErrUnknownEventType, eventType)}
	}
	if len(data) > MaxPayloadBytes {
		return nil, tooLarge(len(data))
	}
	ev := reg.new()
	if err := checkJSON(data, ev, reg.decoding == strict); err != nil {
		return nil, describe(eventType, err)
	}
	if err := json.Unmarshal(data, ev); err != nil {
		// checkJSON accepts only what encoding/json decodes; this is a
		// safety net.
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, &DecodeError{Reason: ReasonWrongType, Err: fmt.Errorf("decoding %s: %w", eventType,
				FieldErrors{{Field: te.Field, Reason: fmt.Sprintf("must be %s, got %s", te.Type, te.Value)}})}
		}
		return nil, &DecodeError{Reason: ReasonMalformedJSON, Err: fmt.Errorf("decoding %s: %w", eventType, err)}
	}
	if err := ev.Validate(); err != nil {
		var fe FieldErrors
		if errors.As(err, &fe) {
			return nil, &DecodeError{Reason: ReasonValidationFailed, Err: fmt.Errorf("invalid %s (%s):\n%w", eventType, plural(len(fe), "problem"), err)}
		}
		return nil, &DecodeError{Reason: ReasonValidationFailed, Err: fmt.Errorf("invalid %s: %w", eventType, err)}
	}
	return ev, nil
}

// plural returns "1 problem", "2 problems".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// tooLarge is the error for a payload of n bytes.
func tooLarge(n int) error {
	return &DecodeError{Reason: ReasonPayloadTooLarge, Err: fmt.Errorf("%w: %d bytes, the limit is %d", ErrPayloadTooLarge, n, MaxPayloadBytes)}
}

// describe turns a checkJSON error into a DecodeError.
func describe(eventType string, err error) error {
	var je *jsonError
	if !errors.As(err, &je) {
		return &DecodeError{Reason: ReasonMalformedJSON, Err: fmt.Errorf("decoding %s: %w", eventType, err)}
	}
	switch je.reason {
	case ReasonUnknownField:
		return &DecodeError{Reason: je.reason, Err: fmt.Errorf("%s has fields the contract does not define (a typo?):\n%w", eventType, je.fields)}
	case ReasonWrongType:
		return &DecodeError{Reason: je.reason, Err: fmt.Errorf("%s has fields of the wrong JSON type:\n%w", eventType, je.fields)}
	default:
		return &DecodeError{Reason: je.reason, Err: fmt.Errorf("decoding %s:\n%w", eventType, je.fields)}
	}
}

// checkJSON checks that data is one JSON object whose fields fit the Go
// type of target: every error found, not only the first. In strict mode a
// field target does not define is an error.
func checkJSON(data []byte, target any, strictFields bool) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return errors.New("empty payload")
	}
	// encoding/json would replace invalid bytes in strings with U+FFFD and
	// run the job with values nobody sent: RFC 8259 JSON is UTF-8.
	if !utf8.Valid(data) {
		return fmt.Errorf("invalid JSON at byte %d: not valid UTF-8", invalidUTF8At(data))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	w := &walker{dec: dec, strict: strictFields}
	tok, err := dec.Token()
	if err != nil {
		return syntaxError(dec, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("payload must be a JSON object, got %s", tokenKind(tok))
	}
	if err := w.object(typeOf(target), "", 1); err != nil {
		return syntaxError(dec, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("unexpected data after the JSON object at byte %d", dec.InputOffset())
	}
	for _, fe := range []FieldErrors{w.malformed, w.unknown, w.wrong} {
		fe.sort()
	}
	switch {
	case len(w.malformed) > 0:
		return &jsonError{reason: ReasonMalformedJSON, fields: w.malformed}
	case len(w.unknown) > 0:
		return &jsonError{reason: ReasonUnknownField, fields: w.unknown}
	case len(w.wrong) > 0:
		return &jsonError{reason: ReasonWrongType, fields: w.wrong}
	}
	return nil
}

// syntaxError words an error from the JSON tokenizer.
func syntaxError(dec *json.Decoder, err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("invalid JSON at byte %d: %w", se.Offset, err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("invalid JSON: unexpected end of input at byte %d", dec.InputOffset())
	}
	return err
}

// jsonError carries the field-level problems checkJSON found.
type jsonError struct {
	reason string
	fields FieldErrors
}

// Error returns the reason and the fields.
func (e *jsonError) Error() string { return e.reason + ": " + e.fields.Error() }

// invalidUTF8At returns the offset of the first byte of data that does not
// start a valid UTF-8 sequence.
func invalidUTF8At(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(data)
}
