package hostile

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// update makes TestCorpus write testdata/corpus.jsonl instead of comparing it.
var update = flag.Bool("update", false, "rewrite testdata/corpus.jsonl from the generator")

// corpusFile is the committed corpus, relative to this package.
var corpusFile = filepath.Join("testdata", "corpus.jsonl")

// Where a hostile case must land.
const (
	// LandDeadLetter: a record on the dead-letter topic, keyed as the case,
	// whose dead_letter_reason header is Expect.Reason.
	LandDeadLetter = "dead-letter"
	// LandBuildFailed: a build failed event on the status topic for the
	// case's request_id, whose reason is Expect.Reason.
	LandBuildFailed = "build-failed"
)

// minCases is the least number of hostile cases the corpus must hold.
const minCases = 200

// Case is one hostile record.
type Case struct {
	// Name says what the case does, unique in the corpus.
	Name string `json:"name"`
	// Class groups cases by the rule or attack they exercise.
	Class string `json:"class"`
	// ClusterID is the case's own job.cluster_id (h-<n>): its images would
	// be pushed to <registry>/flinkferry/<cluster id>. The payload carries
	// it unless the case is about job.cluster_id or is not a request.
	ClusterID string `json:"cluster_id"`
	// RequestID is the case's own request_id when the payload carries a
	// valid one: build failed events are matched by it.
	RequestID string `json:"request_id,omitempty"`
	// Key is the Kafka record key (namespace/cluster id): dead-letter
	// records keep it, so they are matched by it.
	Key string `json:"key"`
	// Headers are the record's headers (none: the topic's default type).
	Headers map[string]string `json:"headers,omitempty"`
	// Payload is the record value when it is valid UTF-8, else
	// PayloadBase64 holds it.
	Payload       string `json:"payload,omitempty"`
	PayloadBase64 string `json:"payload_base64,omitempty"`
	// Expect is where and why the case must be refused.
	Expect Expect `json:"expect"`
}

// Expect is the refusal a case must meet.
type Expect struct {
	// Land is LandDeadLetter or LandBuildFailed.
	Land string `json:"land"`
	// Reason is the machine-readable reason: the dead_letter_reason header,
	// or the build failed event's reason.
	Reason string `json:"reason"`
	// Field is the request field path the error text must name, at the
	// start of one of its lines ("field: problem", as messages.FieldError
	// and admission.Refusal write them). Empty for problems of the whole
	// record (not JSON, too large, bad headers).
	Field string `json:"field,omitempty"`
	// Text, when set, must appear in the error text as well.
	Text string `json:"text,omitempty"`
	// Absent are strings that must not appear in the error text (the
	// credentials of a jar URL).
	Absent []string `json:"absent,omitempty"`
}

// Value returns the record value.
func (c Case) Value() ([]byte, error) {
	if c.PayloadBase64 != "" {
		return base64.StdEncoding.DecodeString(c.PayloadBase64)
	}
	return []byte(c.Payload), nil
}

// setValue stores v in Payload or PayloadBase64.
func (c *Case) setValue(v []byte) {
	if utf8.Valid(v) {
		c.Payload, c.PayloadBase64 = string(v), ""
		return
	}
	c.Payload, c.PayloadBase64 = "", base64.StdEncoding.EncodeToString(v)
}

// encodeCorpus writes one JSON object per line, HTML characters unescaped
// so payloads stay readable.
func encodeCorpus(cases []Case) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for _, c := range cases {
		if err := enc.Encode(c); err != nil {
			return nil, fmt.Errorf("encoding case %s: %w", c.Name, err)
		}
	}
	return b.Bytes(), nil
}

// loadCorpus reads testdata/corpus.jsonl.
func loadCorpus() ([]Case, error) {
	f, err := os.Open(corpusFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var cases []Case
	s := bufio.NewScanner(f)
	s.Buffer(nil, 8<<20)
	for line := 1; s.Scan(); line++ {
		var c Case
		dec := json.NewDecoder(bytes.NewReader(s.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", corpusFile, line, err)
		}
		cases = append(cases, c)
	}
	return cases, s.Err()
}

// checkCorpus reports cases that cannot be matched to their outcome or
// produced at all.
func checkCorpus(cases []Case) error {
	var errs []error
	if len(cases) < minCases {
		errs = append(errs, fmt.Errorf("%d cases, want at least %d", len(cases), minCases))
	}
	seen := map[string]string{}
	unique := func(kind, v, name string) {
		if v == "" {
			return
		}
		if other, ok := seen[kind+"\x00"+v]; ok {
			errs = append(errs, fmt.Errorf("cases %s and %s share %s %q", other, name, kind, v))
		}
		seen[kind+"\x00"+v] = name
	}
	for _, c := range cases {
		unique("name", c.Name, c.Name)
		unique("cluster id", c.ClusterID, c.Name)
		unique("request id", c.RequestID, c.Name)
		unique("key", c.Key, c.Name)
		v, err := c.Value()
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("case %s: %w", c.Name, err))
		case len(v) > maxRecordBytes:
			errs = append(errs, fmt.Errorf("case %s: %d bytes, more than a record may hold (%d)", c.Name, len(v), maxRecordBytes))
		}
		switch {
		case c.Class == "" || c.ClusterID == "" || c.Key == "":
			errs = append(errs, fmt.Errorf("case %s: class, cluster_id and key are required", c.Name))
		case c.Expect.Land == LandBuildFailed && c.RequestID == "":
			errs = append(errs, fmt.Errorf("case %s: a build failed event is matched by request_id, and the case has none", c.Name))
		case c.Expect.Land != LandBuildFailed && c.Expect.Land != LandDeadLetter:
			errs = append(errs, fmt.Errorf("case %s: land %q is neither %s nor %s", c.Name, c.Expect.Land, LandDeadLetter, LandBuildFailed))
		case c.Expect.Reason == "" || (c.Expect.Field == "" && c.Expect.Text == ""):
			errs = append(errs, fmt.Errorf("case %s: expect needs a reason and a field or a text", c.Name))
		}
	}
	return errors.Join(errs...)
}

// maxRecordBytes is the largest value the corpus may hold: the brokers'
// message.max.bytes (1,000,012 on kfake) less room for the key and headers.
const maxRecordBytes = 990_000

// TestCorpus checks that testdata/corpus.jsonl is what the generator
// writes (with -update, it writes it), and that every case can be
// produced and matched to its outcome.
func TestCorpus(t *testing.T) {
	cases := generate()
	if err := checkCorpus(cases); err != nil {
		t.Fatal(err)
	}
	want, err := encodeCorpus(cases)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.MkdirAll(filepath.Dir(corpusFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(corpusFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %d cases (%d bytes) to %s", len(cases), len(want), corpusFile)
		return
	}
	got, err := os.ReadFile(corpusFile)
	if err != nil {
		t.Fatalf("%v (generate it: go test ./test/hostile -run TestCorpus -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is not what the generator writes: run `go test ./test/hostile -run TestCorpus -update` and review the diff", corpusFile)
	}
	loaded, err := loadCorpus()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(loaded), len(cases); got != want {
		t.Fatalf("loadCorpus() read %d cases, want %d", got, want)
	}
	for i := range loaded {
		gv, _ := loaded[i].Value()
		wv, _ := cases[i].Value()
		if !bytes.Equal(gv, wv) {
			t.Errorf("case %s: the loaded value differs from the generated one", cases[i].Name)
		}
	}
}

// namesField reports whether text has a line naming field as its subject:
// "field: ...", after any leading blanks.
func namesField(text, field string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), field+": ") {
			return true
		}
	}
	return false
}
