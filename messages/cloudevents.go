package messages

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"slices"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
)

// Kafka headers of the CloudEvents Kafka protocol binding, binary mode.
const (
	// HeaderSpecVersion carries the CloudEvents spec version, SpecVersion.
	HeaderSpecVersion = "ce_specversion"
	// HeaderID carries the event id, unique per producer.
	HeaderID = "ce_id"
	// HeaderType carries the event type, one of Types.
	HeaderType = "ce_type"
	// HeaderSource carries the producer, e.g. "flinkferry/build".
	HeaderSource = "ce_source"
	// HeaderTime carries when the event happened, RFC 3339 in UTC with
	// nanoseconds.
	HeaderTime = "ce_time"
	// HeaderSubject carries the job key (JobRef.Key).
	HeaderSubject = "ce_subject"
	// HeaderRequestID carries the request id, as the CloudEvents extension
	// attribute "requestid".
	HeaderRequestID = "ce_requestid"
	// HeaderContentType carries the payload's media type, ContentTypeJSON.
	HeaderContentType = "content-type"
)

const (
	// SpecVersion is the only CloudEvents version produced and accepted.
	SpecVersion = event.CloudEventsVersionV1
	// ContentTypeJSON is the media type of every payload.
	ContentTypeJSON = "application/json"
	// extRequestID is the CloudEvents extension attribute of the request id.
	extRequestID = "requestid"
)

// Envelope holds the CloudEvents attributes of a Kafka record.
type Envelope struct {
	// ID identifies the event (ce_id). Consumers drop records whose ID they
	// have seen.
	ID string
	// Type is the event type (ce_type).
	Type string
	// Source identifies the producer (ce_source), a URI reference such as
	// "flinkferry/build" or "https://ci.example.com/pipelines".
	Source string
	// Subject is the job key (ce_subject).
	Subject string
	// RequestID is the request id (ce_requestid).
	RequestID string
	// Time is when the event happened (ce_time).
	Time time.Time
}

// Encode validates ev and turns it into a Kafka record in CloudEvents
// binary mode: the key (ev.JobKey()), the headers and the JSON value.
//
// Envelope fields left empty are filled in: Type from ev (a different Type
// is an error), ID with 16 random bytes in hex (a deterministic id is the
// caller's business), Time with the current time, Subject with the job key
// and RequestID with the event's request id. Source is required. An invalid
// event yields an error wrapping its FieldErrors; a value larger than
// MaxPayloadBytes one wrapping ErrPayloadTooLarge.
func Encode(ev Event, env Envelope) (key string, headers map[string]string, value []byte, err error) {
	if isNil(ev) {
		return "", nil, nil, errors.New("encoding: nil event")
	}
	typ := ev.EventType()
	if env.Type != "" && env.Type != typ {
		return "", nil, nil, fmt.Errorf("encoding %s: envelope type %q does not match the event", typ, env.Type)
	}
	if err := ev.Validate(); err != nil {
		return "", nil, nil, fmt.Errorf("encoding invalid %s:\n%w", typ, err)
	}
	value, err = json.Marshal(ev)
	if err != nil {
		return "", nil, nil, fmt.Errorf("encoding %s: %w", typ, err)
	}
	if len(value) > MaxPayloadBytes {
		return "", nil, nil, fmt.Errorf("encoding %s: %w: %d bytes, the limit is %d", typ, ErrPayloadTooLarge, len(value), MaxPayloadBytes)
	}

	if env.ID == "" {
		env.ID = newID()
	}
	if env.Time.IsZero() {
		env.Time = time.Now()
	}
	if env.Subject == "" {
		env.Subject = ev.JobKey()
	}
	if env.RequestID == "" {
		env.RequestID = RequestIDOf(ev)
	}

	ce := event.New(SpecVersion)
	ce.SetID(env.ID)
	ce.SetType(typ)
	ce.SetSource(env.Source)
	ce.SetSubject(env.Subject)
	ce.SetTime(env.Time.UTC())
	ce.SetDataContentType(ContentTypeJSON)
	if env.RequestID != "" {
		ce.SetExtension(extRequestID, env.RequestID)
	}
	if err := ce.Validate(); err != nil {
		return "", nil, nil, fmt.Errorf("encoding %s: invalid CloudEvents attributes: %s", typ, ceErrorText(err))
	}

	headers = map[string]string{
		HeaderSpecVersion: ce.SpecVersion(),
		HeaderID:          ce.ID(),
		HeaderType:        ce.Type(),
		HeaderSource:      ce.Source(),
		HeaderTime:        ce.Time().UTC().Format(time.RFC3339Nano),
		HeaderSubject:     ce.Subject(),
		HeaderContentType: ce.DataContentType(),
	}
	if env.RequestID != "" {
		headers[HeaderRequestID] = env.RequestID
	}
	return ev.JobKey(), headers, value, nil
}

// DecodeMessage decodes the value of a Kafka record into a valid Event.
//
// With CloudEvents headers (ce_specversion present) the record must be in
// binary mode: ce_specversion "1.0", ce_id, ce_source and ce_type present,
// ce_time RFC 3339 when present. A record without ce_specversion (a plain
// producer sending only a key and a JSON value) is accepted too: its type
// is ce_type if present, else defaultType, the default type of the topic it
// came from (Topics.DefaultType); its Envelope has no ID and no Time, for
// the caller to fill from the topic, partition and offset. Header names are
// matched case-insensitively; unknown headers are ignored. In both cases a
// content-type header, when present, must be application/json (parameters
// such as charset=utf-8 allowed).
//
// The value is decoded with Decode. The payload is authoritative: ce_subject
// and ce_requestid are not compared with it. The returned Envelope carries
// the attributes found, even on error (for logging); its RequestID falls
// back to the event's request id. Errors are *DecodeError, with the reasons of
// Decode plus payload_too_large (checked before parsing),
// unsupported_specversion, unsupported_content_type and invalid_cloudevent.
func DecodeMessage(headers map[string]string, defaultType string, value []byte) (Event, Envelope, error) {
	if len(value) > MaxPayloadBytes {
		return nil, Envelope{}, tooLarge(len(value))
	}
	h := make(map[string]string, len(headers))
	for k, v := range headers {
		h[strings.ToLower(k)] = v
	}
	env := Envelope{
		ID:        h[HeaderID],
		Type:      h[HeaderType],
		Source:    h[HeaderSource],
		Subject:   h[HeaderSubject],
		RequestID: h[HeaderRequestID],
	}
	if ct, ok := h[HeaderContentType]; ok {
		if err := checkContentType(ct); err != nil {
			return nil, env, err
		}
	}
	sv, binary := h[HeaderSpecVersion]
	if binary && sv != SpecVersion {
		return nil, env, &DecodeError{Reason: ReasonUnsupportedSpecVersion, Err: fmt.Errorf("ce_specversion %q: only %q is supported", sv, SpecVersion)}
	}
	if raw, ok := h[HeaderTime]; ok {
		t, err := time.Parse(time.RFC3339Nano, raw)
		if err != nil {
			return nil, env, &DecodeError{Reason: ReasonInvalidCloudEvent, Err: fmt.Errorf("ce_time %q is not an RFC 3339 timestamp", raw)}
		}
		env.Time = t
	}
	if binary {
		ce := event.New(SpecVersion)
		ce.SetID(env.ID)
		ce.SetType(env.Type)
		ce.SetSource(env.Source)
		if err := ce.Validate(); err != nil {
			return nil, env, &DecodeError{Reason: ReasonInvalidCloudEvent, Err: fmt.Errorf("invalid CloudEvents headers: %s", ceErrorText(err))}
		}
	}
	if env.Type == "" {
		env.Type = defaultType
	}
	if env.Type == "" {
		return nil, env, &DecodeError{Reason: ReasonUnknownEventType, Err: fmt.Errorf("%w: no ce_type header and no default type for the topic", ErrUnknownEventType)}
	}
	ev, err := Decode(env.Type, value)
	if err != nil {
		return nil, env, err
	}
	if env.RequestID == "" {
		env.RequestID = RequestIDOf(ev)
	}
	return ev, env, nil
}

// checkContentType accepts application/json with any parameters, except a
// charset other than UTF-8.
func checkContentType(ct string) error {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return &DecodeError{Reason: ReasonUnsupportedContentType, Err: fmt.Errorf("content-type %q: %w", ct, err)}
	}
	if mt != ContentTypeJSON {
		return &DecodeError{Reason: ReasonUnsupportedContentType, Err: fmt.Errorf("content-type %q: only %s (CloudEvents binary mode) is supported", ct, ContentTypeJSON)}
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return &DecodeError{Reason: ReasonUnsupportedContentType, Err: fmt.Errorf("content-type %q: only UTF-8 is supported", ct)}
	}
	return nil
}

// ceErrorText renders a CloudEvents validation error with its attributes
// sorted, so the text is deterministic.
func ceErrorText(err error) string {
	var ve event.ValidationError
	if !errors.As(err, &ve) {
		return err.Error()
	}
	keys := make([]string, 0, len(ve))
	for k := range ve {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + ve[k].Error()
	}
	return strings.Join(parts, "; ")
}

// newID returns 16 random bytes in hex.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails since Go 1.24
	return hex.EncodeToString(b[:])
}
