package bus

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill/message"
)

func testInfo(errText string) deadLetterInfo {
	return deadLetterInfo{
		errText: errText, reason: "validation_failed",
		topic: "flinkferry.submit", handler: "submit", subscriber: "sub",
		partition: "3", offset: "42",
	}
}

func sourceMessage(payload []byte, key string, headers map[string]string) *message.Message {
	m := message.NewMessage("id-1", payload)
	for k, v := range headers {
		m.Metadata.Set(k, v)
	}
	if key != "" {
		m.Metadata.Set(KeyMetadata, key)
	}
	return m
}

func TestDeadLetterRecordFitsItsLimit(t *testing.T) {
	const limit = 100_000
	huge := strings.Repeat("x", 5_800_000)
	manyHeaders := map[string]string{"ce_id": "id-1", "ce_type": "io.flinkferry.submit.requested.v1"}
	for i := range 500 {
		manyHeaders[fmt.Sprintf("h%03d", i)] = strings.Repeat("h", 1000)
	}
	tests := []struct {
		name      string
		src       *message.Message
		errText   string
		minimal   bool
		truncated string // TruncatedHeader, "" when whole
	}{
		{"small", sourceMessage([]byte(`{"a":1}`), "/flink/wc", map[string]string{"ce_id": "id-1"}), "boom", false, ""},
		{"huge error", sourceMessage([]byte(`{"a":1}`), "/flink/wc", nil), huge, false, ""},
		{"payload over the limit", sourceMessage(bytes.Repeat([]byte("p"), 3*limit), "/flink/wc", nil), huge, false, "payload"},
		{"headers over the limit", sourceMessage([]byte("p"), "/flink/wc", manyHeaders), "boom", false, "payload,headers"},
		{"key over the limit", sourceMessage([]byte("p"), strings.Repeat("k", 2*limit), nil), "boom", false, "payload,headers"},
		{"minimal", sourceMessage(bytes.Repeat([]byte("p"), 1000), "/flink/wc", manyHeaders), huge, true, "payload,headers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := deadLetterRecord(tt.src, testInfo(tt.errText), limit, tt.minimal)
			pm, err := marshaler{}.Marshal("flinkferry.dead-letter", rec)
			if err != nil {
				t.Fatal(err)
			}
			if got := kafkaSize(pm); got > limit {
				t.Errorf("record size = %d, want <= %d", got, limit)
			}
			if got := recordSize(rec.Metadata, len(rec.Payload)); got > limit {
				t.Errorf("recordSize = %d, want <= %d", got, limit)
			}
			md := rec.Metadata
			if got, want := md.Get(TruncatedHeader), tt.truncated; got != want {
				t.Errorf("%s = %q, want %q", TruncatedHeader, got, want)
			}
			maxErr := MaxErrorHeaderBytes
			if tt.truncated == "payload,headers" {
				maxErr = maxMinimalErrorBytes
			}
			if got := md.Get(errorHeader); len(got) > maxErr || !strings.HasPrefix(tt.errText, strings.SplitN(got, "…", 2)[0]) {
				t.Errorf("error header of %d bytes (cap %d): %.80q", len(got), maxErr, got)
			}
			if len(tt.errText) > maxErr && !strings.Contains(md.Get(errorHeader), fmt.Sprintf("%d bytes in all", len(tt.errText))) {
				t.Errorf("cut error header does not give the original length: ...%q", tail(md.Get(errorHeader)))
			}
			for h, want := range map[string]string{ReasonHeader: "validation_failed", SourcePartitionHeader: "3", SourceOffsetHeader: "42", handlerHeader: "submit", topicHeader: "flinkferry.submit"} {
				if got := md.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
			if tt.truncated == "" {
				if !bytes.Equal(rec.Payload, tt.src.Payload) || md.Get(KeyMetadata) != tt.src.Metadata.Get(KeyMetadata) {
					t.Errorf("whole record changed")
				}
				return
			}
			sum := sha256.Sum256(tt.src.Payload)
			if got, want := md.Get(PayloadSHA256Header), hex.EncodeToString(sum[:]); got != want {
				t.Errorf("%s = %q, want %q", PayloadSHA256Header, got, want)
			}
			if got, want := md.Get(PayloadBytesHeader), fmt.Sprint(len(tt.src.Payload)); got != want {
				t.Errorf("%s = %q, want %q", PayloadBytesHeader, got, want)
			}
			if !bytes.HasPrefix(tt.src.Payload, rec.Payload) {
				t.Errorf("cut payload is not a prefix of the original")
			}
			if tt.truncated == "payload" && len(rec.Payload) < limit/2 {
				t.Errorf("payload cut to %d bytes, the limit %d leaves room for more", len(rec.Payload), limit)
			}
			if tt.truncated == "payload,headers" && (len(rec.Payload) != 0 || md.Get("ce_id") != "id-1" && tt.src.Metadata.Get("ce_id") != "") {
				t.Errorf("minimal record: payload %d bytes, ce_id %q", len(rec.Payload), md.Get("ce_id"))
			}
		})
	}
}

// kafkaSize is the size of pm as a v2 record: what sarama compares with
// Producer.MaxMessageBytes plus the 61-byte batch header a broker counts.
func kafkaSize(pm *sarama.ProducerMessage) int {
	n := 61 + 21 // batch header, record length/attributes/deltas varints
	if pm.Key != nil {
		n += pm.Key.Length() + 5
	}
	if pm.Value != nil {
		n += pm.Value.Length() + 5
	}
	for _, h := range pm.Headers {
		n += len(h.Key) + len(h.Value) + 10
	}
	return n
}

func tail(s string) string { return s[max(0, len(s)-60):] }

func TestTooLarge(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("cannot produce message x: %w", sarama.ErrMessageSizeTooLarge), true},
		{fmt.Errorf("cannot produce message x: %w", sarama.ConfigurationError("Attempt to produce message larger than configured Producer.MaxMessageBytes")), true},
		{fmt.Errorf("cannot produce message x: %w", sarama.ErrNotLeaderForPartition), false},
		{fmt.Errorf("broker down"), false},
	}
	for _, tt := range tests {
		if got := tooLarge(tt.err); got != tt.want {
			t.Errorf("tooLarge(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestBoundedID(t *testing.T) {
	long := strings.Repeat("é", 200)
	got := boundedID(long)
	if len(got) > maxIDBytes || got != boundedID(long) || got == boundedID(long+"x") {
		t.Errorf("boundedID = %q (%d bytes): want short, stable and distinct", got, len(got))
	}
	if got := boundedID("upstream-42"); got != "upstream-42" {
		t.Errorf("boundedID(short) = %q, want it unchanged", got)
	}
}
