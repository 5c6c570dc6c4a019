package messages_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flinkferry/flinkferry/messages"
)

// submitJSON is a minimal valid submit request with extra fields spliced in
// at the top level (extra) or inside job (jobExtra).
func submitJSON(extra, jobExtra string) string {
	return `{"request_id":"r1","job":{"namespace":"ns","cluster_id":"c1"` + jobExtra + `},"mode":"application",` +
		`"flink":{"version":"1.20"},"program":{"jar":{"url":"https://example.com/a.jar"}}` + extra + `}`
}

// deployFailedJSON is a minimal valid DeployFailed with extra fields.
func deployFailedJSON(extra string) string {
	return `{"request_id":"r1","job":{"namespace":"ns","cluster_id":"c1"},"mode":"application",` +
		`"reason":"kubernetes_refused","message":"forbidden","time":"2025-06-01T10:00:00Z"` + extra + `}`
}

func TestDecode(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100)
	tests := []struct {
		name       string
		eventType  string
		data       string
		wantReason string
		wantFields messages.FieldErrors // checked when wantReason has fields
		wantIs     error
	}{
		{name: "valid submit", eventType: messages.TypeSubmitRequested, data: submitJSON("", "")},
		{name: "valid event", eventType: messages.TypeDeployFailed, data: deployFailedJSON("")},
		{name: "surrounding blanks", eventType: messages.TypeDeployFailed, data: "\n  " + deployFailedJSON("") + "\n"},

		{name: "unknown type", eventType: "io.flinkferry.cancel.requested.v1", data: "{}", wantReason: messages.ReasonUnknownEventType, wantIs: messages.ErrUnknownEventType},
		{name: "empty", eventType: messages.TypeSubmitRequested, data: "", wantReason: messages.ReasonMalformedJSON},
		{name: "blank", eventType: messages.TypeSubmitRequested, data: " \n\t", wantReason: messages.ReasonMalformedJSON},
		{name: "not JSON", eventType: messages.TypeSubmitRequested, data: "request_id=r1", wantReason: messages.ReasonMalformedJSON},
		{name: "truncated", eventType: messages.TypeSubmitRequested, data: `{"request_id":`, wantReason: messages.ReasonMalformedJSON},
		{name: "missing comma", eventType: messages.TypeSubmitRequested, data: `{"request_id":"a" "mode":"session"}`, wantReason: messages.ReasonMalformedJSON},
		{name: "trailing object", eventType: messages.TypeSubmitRequested, data: submitJSON("", "") + "{}", wantReason: messages.ReasonMalformedJSON},
		{name: "trailing garbage", eventType: messages.TypeDeployFailed, data: deployFailedJSON("") + "x", wantReason: messages.ReasonMalformedJSON},
		{name: "array", eventType: messages.TypeSubmitRequested, data: `[]`, wantReason: messages.ReasonMalformedJSON},
		{name: "null", eventType: messages.TypeSubmitRequested, data: `null`, wantReason: messages.ReasonMalformedJSON},
		{name: "string", eventType: messages.TypeSubmitRequested, data: `"{}"`, wantReason: messages.ReasonMalformedJSON},
		{name: "too deep", eventType: messages.TypeDeployFailed, data: deployFailedJSON(`,"x":` + deep), wantReason: messages.ReasonMalformedJSON},
		{name: "repeated field", eventType: messages.TypeSubmitRequested, data: submitJSON(`,"mode":"session"`, ""),
			wantReason: messages.ReasonMalformedJSON, wantFields: fe("mode", "field repeated")},
		{name: "too large", eventType: messages.TypeSubmitRequested, data: strings.Repeat(" ", messages.MaxPayloadBytes+1),
			wantReason: messages.ReasonPayloadTooLarge, wantIs: messages.ErrPayloadTooLarge},

		{name: "unknown field (typo)", eventType: messages.TypeSubmitRequested, data: submitJSON("", `,"clusterId":"c2"`),
			wantReason: messages.ReasonUnknownField, wantFields: fe("job.clusterId", "unknown field")},
		{name: "unknown fields everywhere", eventType: messages.TypeSubmitRequested, data: submitJSON(`,"Mode":"x","flinkk":{"a":1},"labels":{"ok":"v"}`, `,"ns":"x"`),
			wantReason: messages.ReasonUnknownField, wantFields: fe("Mode", "unknown field", "flinkk", "unknown field", "job.ns", "unknown field")},
		{name: "unknown field and wrong type: unknown wins", eventType: messages.TypeSubmitRequested, data: submitJSON(`,"x":1,"labels":[]`, ""),
			wantReason: messages.ReasonUnknownField, wantFields: fe("x", "unknown field")},
		{name: "unknown fields tolerated in events", eventType: messages.TypeDeployFailed, data: deployFailedJSON(`,"severity":"high","details":{"pod":"p1","events":[1,2]}`)},
		{name: "unknown nested fields tolerated in events", eventType: messages.TypeDeployFailed,
			data: strings.Replace(deployFailedJSON(""), `"cluster_id":"c1"`, `"cluster_id":"c1","region":{"name":"eu"}`, 1)},

		{name: "number as string", eventType: messages.TypeSubmitRequested, data: submitJSON(`,"labels":{"team":1}`, ""),
			wantReason: messages.ReasonWrongType, wantFields: fe("labels[team]", "must be a string, got a number")},
		{name: "wrong types everywhere", eventType: messages.TypeSubmitRequested,
			data: `{"request_id":7,"job":"ns/c1","mode":"application","flink":{"version":1.2,"parallelism":"4","dynamic_options":"-Da=1",` +
				`"jobmanager":{"cpu":"1","memory":1024},"taskmanager":{"slots":1.5}},"program":{"jar":{"url":"https://example.com/a.jar"},` +
				`"args":["a",2,true,null,{}],"savepoint":{"path":"s3://b/p","allow_non_restored_state":"yes"}}}`,
			wantReason: messages.ReasonWrongType, wantFields: fe(
				"flink.dynamic_options", "must be an array, got a string",
				"flink.jobmanager.cpu", "must be a number, got a string",
				"flink.jobmanager.memory", "must be a string, got a number",
				"flink.parallelism", "must be an integer, got a string",
				"flink.taskmanager.slots", "must be an integer that fits in 64 bits, got 1.5",
				"flink.version", "must be a string, got a number",
				"job", "must be an object, got a string",
				"program.args[1]", "must be a string, got a number",
				"program.args[2]", "must be a string, got a boolean",
				"program.args[4]", "must be a string, got an object",
				"program.savepoint.allow_non_restored_state", "must be a boolean, got a string",
				"request_id", "must be a string, got a number",
			)},
		{name: "integer with exponent", eventType: messages.TypeImageBuilt, data: `{"duration_ms":1e3}`,
			wantReason: messages.ReasonWrongType, wantFields: fe("duration_ms", "must be an integer that fits in 64 bits, got 1e3")},
		{name: "time not RFC 3339", eventType: messages.TypeDeployFailed, data: strings.Replace(deployFailedJSON(""), "2025-06-01T10:00:00Z", "yesterday", 1),
			wantReason: messages.ReasonWrongType, wantFields: fe("time", `must be an RFC 3339 date-time such as 2025-01-31T12:00:00Z, got "yesterday"`)},
		{name: "time a number", eventType: messages.TypeDeployFailed, data: strings.Replace(deployFailedJSON(""), `"2025-06-01T10:00:00Z"`, "1748772000", 1),
			wantReason: messages.ReasonWrongType, wantFields: fe("time", "must be an RFC 3339 date-time string, got a number")},
		{name: "repeated field in an event", eventType: messages.TypeDeployFailed, data: deployFailedJSON(`,"time":"2025-06-01T10:00:01Z"`),
			wantReason: messages.ReasonMalformedJSON, wantFields: fe("time", "field repeated")},
		{name: "size too big for int64", eventType: messages.TypeImageBuilt, data: `{"size_bytes":99999999999999999999}`,
			wantReason: messages.ReasonWrongType, wantFields: fe("size_bytes", "must be an integer that fits in 64 bits, got 99999999999999999999")},
		{name: "null fields are unset", eventType: messages.TypeSubmitRequested, data: submitJSON(`,"labels":null,"kubernetes":null`, `,"kube_cluster":null`)},

		{name: "invalid", eventType: messages.TypeSubmitRequested, data: strings.Replace(submitJSON("", ""), `"ns"`, `"NS"`, 1),
			wantReason: messages.ReasonValidationFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := messages.Decode(tt.eventType, []byte(tt.data))
			if got, want := messages.ReasonOf(err), tt.wantReason; got != want {
				t.Fatalf("Decode() error = %v, reason %q, want reason %q", err, got, want)
			}
			if tt.wantReason == "" {
				if ev == nil || ev.EventType() != tt.eventType {
					t.Fatalf("Decode() = %v, want a %s", ev, tt.eventType)
				}
				return
			}
			if ev != nil {
				t.Fatalf("Decode() = %v, want nil with an error", ev)
			}
			var de *messages.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode() error %T is not a *DecodeError", err)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Fatalf("errors.Is(%v, %v) = false", err, tt.wantIs)
			}
			if tt.wantFields != nil {
				if diff := cmp.Diff(tt.wantFields, fieldErrorsOf(t, err)); diff != "" {
					t.Fatalf("FieldErrors mismatch (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestDecodeErrorText(t *testing.T) {
	_, err := messages.Decode(messages.TypeSubmitRequested, []byte(submitJSON("", `,"clusterId":"c2","clusterID":"c3"`)))
	want := "unknown_field: io.flinkferry.submit.requested.v1 has fields the contract does not define (a typo?):\n" +
		"job.clusterID: unknown field\njob.clusterId: unknown field"
	if got := err.Error(); got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}

	_, err = messages.Decode(messages.TypeSubmitRequested, []byte(strings.Replace(submitJSON("", ""), `"r1"`, `""`, 1)))
	want = "validation_failed: invalid io.flinkferry.submit.requested.v1 (1 problem):\nrequest_id: required"
	if got := err.Error(); got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

// TestDecodeValidExamplesStrictly checks that the valid examples have no
// field the contract does not define, even the events decoded tolerantly.
func TestDecodeValidExamplesStrictly(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "valid", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			ev, err := messages.Decode(exampleType(t, f), readFile(t, f))
			if err != nil {
				t.Fatalf("Decode() = %v", err)
			}
			// Re-encoding must give the same fields back: nothing was dropped.
			got, want := normalizeJSON(t, mustMarshal(t, ev)), normalizeJSON(t, readFile(t, f))
			if !bytes.Equal(got, want) {
				t.Fatalf("re-encoded example differs:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// TestDecodeRefusesInvalidUTF8: encoding/json would turn the bytes into
// U+FFFD and the job would run with values nobody sent.
func TestDecodeRefusesInvalidUTF8(t *testing.T) {
	for _, payload := range []string{
		`{"request_id":"r","program":{"args":["a` + "\xff" + `b"]}}`,
		`{"request_id":"r","flink":{"dynamic_options":["-Da=` + "\xc0\xaf" + `"]}}`, // overlong "/"
		"{\"request_id\":\"r\xed\xa0\x80\"}",                                        // a surrogate
	} {
		_, err := messages.Decode(messages.TypeSubmitRequested, []byte(payload))
		var de *messages.DecodeError
		if !errors.As(err, &de) || de.Reason != messages.ReasonMalformedJSON || !strings.Contains(err.Error(), "not valid UTF-8") {
			t.Errorf("Decode(%q) = %v, want malformed_json: not valid UTF-8", payload, err)
		}
	}
}
