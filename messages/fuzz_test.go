package messages_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flinkferry/flinkferry/messages"
)

// maxErrorBytes bounds the text of any decode error: it ends up in a
// dead-letter header, a status event and a log line.
const maxErrorBytes = 64 << 10

// addFileSeeds adds every JSON file of the testdata directories as a seed.
func addFileSeeds(f *testing.F, dirs ...string) {
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.json"))
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
}

// FuzzDecodeSubmitRequested decodes and validates arbitrary payloads as
// submit requests: never a panic, every error a *DecodeError with a reason
// and a bounded text, and an accepted request encodes and decodes to
// itself.
func FuzzDecodeSubmitRequested(f *testing.F) {
	addFileSeeds(f, "testdata/valid", "testdata/invalid")
	f.Add([]byte(`{"request_id":"r","job":{"namespace":"n","cluster_id":"c"},"mode":"application","flink":{"version":"1.20","dynamic_options":["-Da=1","-Da=1","-Da=\u0000"]},"program":{"jar":{"url":"https://h/a.jar"},"args":["a;b","'q'","\"d\"","x,y","l\nm","日本"]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := messages.Decode(messages.TypeSubmitRequested, data)
		if err != nil {
			var de *messages.DecodeError
			if !errors.As(err, &de) || de.Reason == "" {
				t.Fatalf("Decode() error %T without a reason: %v", err, err)
			}
			if n := len(err.Error()); n > maxErrorBytes {
				t.Fatalf("Decode() error of %d bytes, want at most %d", n, maxErrorBytes)
			}
			return
		}
		req := ev.(*messages.SubmitRequested)
		js, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("Marshal(decoded) = %v", err)
		}
		again, err := messages.Decode(messages.TypeSubmitRequested, js)
		if err != nil {
			t.Fatalf("decoding a re-encoded accepted request: %v\n%s", err, js)
		}
		js2, _ := json.Marshal(again)
		if string(js) != string(js2) {
			t.Fatalf("round trip changed the request:\n%s\n%s", js, js2)
		}
		for _, opt := range req.Flink.DynamicOptions {
			if strings.ContainsAny(opt, "\x00\r\n") {
				t.Fatalf("accepted dynamic option with a control character: %q", opt)
			}
		}
	})
}
