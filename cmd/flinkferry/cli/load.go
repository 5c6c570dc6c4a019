package cli

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/flinkferry/flinkferry/internal/devstate"
	"github.com/flinkferry/flinkferry/messages"
)

// readRequestFile reads name, or in when name is "-".
func readRequestFile(name string, in io.Reader) ([]byte, error) {
	if name == "" {
		return nil, errors.New("-f is required (a file, or - for stdin)")
	}
	var (
		data []byte
		err  error
	)
	if name == "-" {
		data, err = io.ReadAll(io.LimitReader(in, 4*messages.MaxPayloadBytes))
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, fmt.Errorf("reading submit request %s: %w", name, err)
	}
	return data, nil
}

// LoadSubmitRequest turns a YAML or JSON submit request into a validated
// SubmitRequested, decoded strictly like the build worker does (unknown
// fields are errors). A missing or empty request_id is generated ("cli-"
// + UTC time + random hex) and generated is true. name only labels errors.
// An invalid request yields an *InvalidRequestError listing every problem.
func LoadSubmitRequest(name string, data []byte) (req *messages.SubmitRequested, generated bool, err error) {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")
		return nil, false, &InvalidRequestError{File: name, Err: fmt.Errorf("not YAML or JSON: %s", msg)}
	}
	js, generated = withRequestID(js)
	ev, err := messages.Decode(messages.TypeSubmitRequested, js)
	if err != nil {
		ire := &InvalidRequestError{File: name, Err: err}
		errors.As(err, &ire.Problems)
		return nil, false, ire
	}
	return ev.(*messages.SubmitRequested), generated, nil
}

// withRequestID sets a generated request_id in a JSON object that has none
// (or an empty one). Anything else is returned unchanged, for Decode to
// judge.
func withRequestID(js []byte) ([]byte, bool) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(js, &obj); err != nil || obj == nil {
		return js, false
	}
	if raw, ok := obj["request_id"]; ok && !bytes.Equal(bytes.TrimSpace(raw), []byte(`""`)) && !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return js, false
	}
	id, _ := json.Marshal(NewRequestID(time.Now()))
	obj["request_id"] = id
	out, err := json.Marshal(obj)
	if err != nil {
		return js, false
	}
	return out, true
}

// NewRequestID returns a fresh request id: "cli-", the UTC time to the
// second, and 6 random hex characters, e.g. cli-20250601T101530Z-3fa9c2.
func NewRequestID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return "cli-" + now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// DevArtifactsURL is the artifact server of `flinkferry dev` on its default
// port, where the jars of examples/ are.
const DevArtifactsURL = "http://127.0.0.1:8989"

// useDevArtifacts points a jar URL under DevArtifactsURL at the artifact
// server of the running `flinkferry dev` when the request goes to that
// dev's Kafka and dev serves its artifacts on another port
// (--artifacts-port), so examples/ work with any dev. It returns the new
// URL, or "" when nothing changed.
func useDevArtifacts(req *messages.SubmitRequested, brokers []string) string {
	if !hasDevJar(req) {
		return ""
	}
	st, err := devstate.Read()
	if err != nil || st.ArtifactsURL == "" || st.ArtifactsURL == DevArtifactsURL || !slices.Equal(st.KafkaBrokers, brokers) {
		return ""
	}
	rebaseDevJar(req, st.ArtifactsURL)
	return req.Program.Jar.URL
}

// hasDevJar reports whether req's jar is under DevArtifactsURL.
func hasDevJar(req *messages.SubmitRequested) bool {
	return req.Program != nil && strings.HasPrefix(req.Program.Jar.URL, DevArtifactsURL+"/")
}

// rebaseDevJar points a jar under DevArtifactsURL at the artifact server
// at base.
func rebaseDevJar(req *messages.SubmitRequested, base string) {
	if hasDevJar(req) {
		req.Program.Jar.URL = base + strings.TrimPrefix(req.Program.Jar.URL, DevArtifactsURL)
	}
}
