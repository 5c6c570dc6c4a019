package messages_test

import (
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flinkferry/flinkferry/messages"
)

func validSubmit(t *testing.T) []byte {
	t.Helper()
	return readFile(t, filepath.Join("testdata", "valid", "submit-application.json"))
}

func ceHeaders(typ string) map[string]string {
	return map[string]string{
		"ce_specversion": "1.0",
		"ce_id":          "0f3a",
		"ce_type":        typ,
		"ce_source":      "https://ci.example.com/pipelines/42",
		"ce_time":        "2025-06-01T10:15:30.123456789Z",
		"ce_subject":     "eu-west-1/flink-jobs/orders-enrichment",
		"ce_requestid":   "orders-enrichment:2025-06-01:42",
		"content-type":   "application/json",
	}
}

func TestDecodeMessage(t *testing.T) {
	submit := validSubmit(t)
	deployFailed := []byte(deployFailedJSON(""))
	with := func(h map[string]string, kv ...string) map[string]string {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(h, kv[i])
			} else {
				h[kv[i]] = kv[i+1]
			}
		}
		return h
	}

	tests := []struct {
		name        string
		headers     map[string]string
		defaultType string
		value       []byte
		wantType    string
		wantEnv     messages.Envelope
		wantReason  string
	}{{
		name:        "full CloudEvents headers",
		headers:     ceHeaders(messages.TypeSubmitRequested),
		defaultType: messages.TypeSubmitRequested,
		value:       submit,
		wantType:    messages.TypeSubmitRequested,
		wantEnv: messages.Envelope{
			ID: "0f3a", Type: messages.TypeSubmitRequested, Source: "https://ci.example.com/pipelines/42",
			Subject: "eu-west-1/flink-jobs/orders-enrichment", RequestID: "orders-enrichment:2025-06-01:42",
			Time: time.Date(2025, 6, 1, 10, 15, 30, 123456789, time.UTC),
		},
	}, {
		name:        "no headers at all: the topic's default type",
		defaultType: messages.TypeSubmitRequested,
		value:       submit,
		wantType:    messages.TypeSubmitRequested,
		wantEnv:     messages.Envelope{Type: messages.TypeSubmitRequested, RequestID: "orders-enrichment:2025-06-01:42"},
	}, {
		name:        "only non-CloudEvents headers",
		headers:     map[string]string{"_ff_key": "/ns/c1", "traceparent": "00-abc"},
		defaultType: messages.TypeDeployFailed,
		value:       deployFailed,
		wantType:    messages.TypeDeployFailed,
		wantEnv:     messages.Envelope{Type: messages.TypeDeployFailed, RequestID: "r1"},
	}, {
		name:        "ce_type without ce_specversion overrides the default",
		headers:     map[string]string{"ce_type": messages.TypeDeployFailed},
		defaultType: messages.TypeJobStatusChanged,
		value:       deployFailed,
		wantType:    messages.TypeDeployFailed,
		wantEnv:     messages.Envelope{Type: messages.TypeDeployFailed, RequestID: "r1"},
	}, {
		name:        "header names in capitals",
		headers:     map[string]string{"CE_SPECVERSION": "1.0", "Ce_Id": "1", "CE_TYPE": messages.TypeDeployFailed, "CE_SOURCE": "x", "Content-Type": "application/json"},
		defaultType: messages.TypeJobStatusChanged,
		value:       deployFailed,
		wantType:    messages.TypeDeployFailed,
		wantEnv:     messages.Envelope{ID: "1", Type: messages.TypeDeployFailed, Source: "x", RequestID: "r1"},
	}, {
		name:     "content type with charset",
		headers:  with(ceHeaders(messages.TypeSubmitRequested), "content-type", "application/json; charset=UTF-8"),
		value:    submit,
		wantType: messages.TypeSubmitRequested,
		wantEnv: messages.Envelope{
			ID: "0f3a", Type: messages.TypeSubmitRequested, Source: "https://ci.example.com/pipelines/42",
			Subject: "eu-west-1/flink-jobs/orders-enrichment", RequestID: "orders-enrichment:2025-06-01:42",
			Time: time.Date(2025, 6, 1, 10, 15, 30, 123456789, time.UTC),
		},
	}, {
		name:        "unknown ce_type",
		headers:     with(ceHeaders(messages.TypeSubmitRequested), "ce_type", "io.flinkferry.submit.requested.v2"),
		defaultType: messages.TypeSubmitRequested,
		value:       submit,
		wantReason:  messages.ReasonUnknownEventType,
	}, {
		name:       "no type and no default",
		value:      submit,
		wantReason: messages.ReasonUnknownEventType,
	}, {
		name:       "bad specversion",
		headers:    with(ceHeaders(messages.TypeSubmitRequested), "ce_specversion", "0.3"),
		value:      submit,
		wantReason: messages.ReasonUnsupportedSpecVersion,
	}, {
		name:       "structured mode",
		headers:    with(ceHeaders(messages.TypeSubmitRequested), "content-type", "application/cloudevents+json"),
		value:      submit,
		wantReason: messages.ReasonUnsupportedContentType,
	}, {
		name:        "text content type",
		headers:     map[string]string{"content-type": "text/plain"},
		defaultType: messages.TypeSubmitRequested,
		value:       submit,
		wantReason:  messages.ReasonUnsupportedContentType,
	}, {
		name:       "latin-1",
		headers:    with(ceHeaders(messages.TypeSubmitRequested), "content-type", "application/json; charset=iso-8859-1"),
		value:      submit,
		wantReason: messages.ReasonUnsupportedContentType,
	}, {
		name:       "unparsable content type",
		headers:    with(ceHeaders(messages.TypeSubmitRequested), "content-type", "application/json;;"),
		value:      submit,
		wantReason: messages.ReasonUnsupportedContentType,
	}, {
		name:       "binary mode without ce_id and ce_source",
		headers:    with(ceHeaders(messages.TypeSubmitRequested), "ce_id", "", "ce_source", ""),
		value:      submit,
		wantReason: messages.ReasonInvalidCloudEvent,
	}, {
		name:       "bad ce_time",
		headers:    with(ceHeaders(messages.TypeSubmitRequested), "ce_time", "yesterday"),
		value:      submit,
		wantReason: messages.ReasonInvalidCloudEvent,
	}, {
		name:        "oversize, checked before parsing",
		defaultType: messages.TypeSubmitRequested,
		value:       []byte(strings.Repeat("x", messages.MaxPayloadBytes+1)),
		wantReason:  messages.ReasonPayloadTooLarge,
	}, {
		name:        "malformed JSON",
		defaultType: messages.TypeSubmitRequested,
		value:       []byte(`{"request_id": "r1",`),
		wantReason:  messages.ReasonMalformedJSON,
	}, {
		name:        "wrong type",
		defaultType: messages.TypeSubmitRequested,
		value:       []byte(strings.Replace(submitJSON("", ""), `"1.20"`, `1.2`, 1)),
		wantReason:  messages.ReasonWrongType,
	}, {
		name:        "unknown field in a submit request",
		defaultType: messages.TypeSubmitRequested,
		value:       []byte(submitJSON("", `,"clusterId":"c1"`)),
		wantReason:  messages.ReasonUnknownField,
	}, {
		name:        "unknown field tolerated in a flinkferry event",
		headers:     ceHeaders(messages.TypeDeployFailed),
		defaultType: messages.TypeJobStatusChanged,
		value:       []byte(deployFailedJSON(`,"retry_after_ms":5000`)),
		wantType:    messages.TypeDeployFailed,
		wantEnv: messages.Envelope{
			ID: "0f3a", Type: messages.TypeDeployFailed, Source: "https://ci.example.com/pipelines/42",
			Subject: "eu-west-1/flink-jobs/orders-enrichment", RequestID: "orders-enrichment:2025-06-01:42",
			Time: time.Date(2025, 6, 1, 10, 15, 30, 123456789, time.UTC),
		},
	}, {
		name:        "invalid",
		defaultType: messages.TypeDeployFailed,
		value:       []byte(strings.Replace(deployFailedJSON(""), `"kubernetes_refused"`, `"Refused!"`, 1)),
		wantReason:  messages.ReasonValidationFailed,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, env, err := messages.DecodeMessage(tt.headers, tt.defaultType, tt.value)
			if got, want := messages.ReasonOf(err), tt.wantReason; got != want {
				t.Fatalf("DecodeMessage() error = %v, reason %q, want %q", err, got, want)
			}
			if tt.wantReason != "" {
				var de *messages.DecodeError
				if !errors.As(err, &de) {
					t.Fatalf("DecodeMessage() error %T is not a *DecodeError", err)
				}
				return
			}
			if got, want := ev.EventType(), tt.wantType; got != want {
				t.Fatalf("EventType() = %q, want %q", got, want)
			}
			if diff := cmp.Diff(tt.wantEnv, env); diff != "" {
				t.Fatalf("Envelope mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEncodeDecodeMessageRoundTrip(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "valid", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			typ := exampleType(t, f)
			seen[typ] = true
			ev, err := messages.Decode(typ, readFile(t, f))
			if err != nil {
				t.Fatalf("Decode() = %v", err)
			}
			at := time.Date(2025, 6, 1, 12, 0, 0, 5, time.FixedZone("CEST", 2*3600))
			key, headers, value, err := messages.Encode(ev, messages.Envelope{ID: "id-1", Source: "flinkferry/test", Time: at})
			if err != nil {
				t.Fatalf("Encode() = %v", err)
			}
			if got, want := key, ev.JobKey(); got != want {
				t.Fatalf("key = %q, want %q", got, want)
			}
			wantHeaders := map[string]string{
				"ce_specversion": "1.0",
				"ce_id":          "id-1",
				"ce_type":        typ,
				"ce_source":      "flinkferry/test",
				"ce_time":        "2025-06-01T10:00:00.000000005Z",
				"ce_subject":     ev.JobKey(),
				"ce_requestid":   messages.RequestIDOf(ev),
				"content-type":   "application/json",
			}
			if diff := cmp.Diff(wantHeaders, headers); diff != "" {
				t.Fatalf("headers mismatch (-want +got):\n%s", diff)
			}

			got, env, err := messages.DecodeMessage(headers, "", value)
			if err != nil {
				t.Fatalf("DecodeMessage() = %v", err)
			}
			if diff := cmp.Diff(ev, got); diff != "" {
				t.Fatalf("event mismatch (-want +got):\n%s", diff)
			}
			wantEnv := messages.Envelope{
				ID: "id-1", Type: typ, Source: "flinkferry/test", Subject: ev.JobKey(),
				RequestID: messages.RequestIDOf(ev), Time: at.UTC(),
			}
			if diff := cmp.Diff(wantEnv, env); diff != "" {
				t.Fatalf("Envelope mismatch (-want +got):\n%s", diff)
			}
		})
	}
	for _, typ := range messages.Types() {
		if !seen[typ] {
			t.Errorf("no valid example of %s in testdata/valid", typ)
		}
	}
}

func TestEncodeDefaults(t *testing.T) {
	ev := load[*messages.SubmitRequested](t, "submit-application.json")
	before := time.Now()
	_, h1, _, err := messages.Encode(ev, messages.Envelope{Source: "flinkferry/cli"})
	if err != nil {
		t.Fatalf("Encode() = %v", err)
	}
	_, h2, _, err := messages.Encode(ev, messages.Envelope{Source: "flinkferry/cli", Subject: "custom", RequestID: "other"})
	if err != nil {
		t.Fatalf("Encode() = %v", err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(h1["ce_id"]) || h1["ce_id"] == h2["ce_id"] {
		t.Fatalf("generated ce_id = %q then %q, want two different 32-hex ids", h1["ce_id"], h2["ce_id"])
	}
	ts, err := time.Parse(time.RFC3339Nano, h1["ce_time"])
	if err != nil || ts.Before(before.Add(-time.Second)) || !strings.HasSuffix(h1["ce_time"], "Z") {
		t.Fatalf("ce_time = %q, want the current time in UTC", h1["ce_time"])
	}
	if got, want := h1["ce_subject"], "eu-west-1/flink-jobs/orders-enrichment"; got != want {
		t.Fatalf("ce_subject = %q, want %q", got, want)
	}
	if got, want := h2["ce_subject"], "custom"; got != want {
		t.Fatalf("ce_subject = %q, want %q", got, want)
	}
	if got, want := h2["ce_requestid"], "other"; got != want {
		t.Fatalf("ce_requestid = %q, want %q", got, want)
	}
}

func TestEncodeErrors(t *testing.T) {
	valid := func() *messages.SubmitRequested { return load[*messages.SubmitRequested](t, "submit-application.json") }
	big := valid()
	big.Program.Args = nil
	for range 20 {
		big.Program.Args = append(big.Program.Args, strings.Repeat("a", 60<<10))
	}
	invalid := valid()
	invalid.Job.Namespace = ""

	tests := []struct {
		name       string
		ev         messages.Event
		env        messages.Envelope
		wantReason string
		wantIs     error
	}{
		{name: "nil", ev: nil, env: messages.Envelope{Source: "s"}},
		{name: "typed nil", ev: (*messages.SubmitRequested)(nil), env: messages.Envelope{Source: "s"}},
		{name: "invalid event", ev: invalid, env: messages.Envelope{Source: "s"}, wantReason: messages.ReasonValidationFailed},
		{name: "type mismatch", ev: valid(), env: messages.Envelope{Source: "s", Type: messages.TypeDeployed}},
		{name: "no source", ev: valid(), env: messages.Envelope{}},
		{name: "too large", ev: big, env: messages.Envelope{Source: "s"}, wantReason: messages.ReasonPayloadTooLarge, wantIs: messages.ErrPayloadTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := messages.Encode(tt.ev, tt.env)
			if err == nil {
				t.Fatal("Encode() = nil error, want one")
			}
			if got, want := messages.ReasonOf(err), tt.wantReason; got != want {
				t.Fatalf("ReasonOf(%v) = %q, want %q", err, got, want)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Fatalf("errors.Is(%v, %v) = false", err, tt.wantIs)
			}
		})
	}
}
