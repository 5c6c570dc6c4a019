package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/flinkferry/flinkferry/internal/devstate"
	"github.com/flinkferry/flinkferry/messages"
)

// TestUseDevArtifacts: a jar on dev's default artifact server is pointed at
// the running dev's artifact server only when the request goes to that
// dev's Kafka; any other jar, broker or missing dev leaves it unchanged.
func TestUseDevArtifacts(t *testing.T) {
	devBrokers := []string{"127.0.0.1:41000"}
	for _, tc := range []struct {
		name      string
		jar       string
		brokers   []string
		running   bool
		artifacts string
		want      string
	}{
		{"example jar, dev on another port", "http://127.0.0.1:8989/jars/wordcount.jar", devBrokers, true, "http://127.0.0.1:41001",
			"http://127.0.0.1:41001/jars/wordcount.jar"},
		{"dev on the default port", "http://127.0.0.1:8989/jars/wordcount.jar", devBrokers, true, DevArtifactsURL, ""},
		{"other brokers", "http://127.0.0.1:8989/jars/wordcount.jar", []string{"kafka:9092"}, true, "http://127.0.0.1:41001", ""},
		{"no dev running", "http://127.0.0.1:8989/jars/wordcount.jar", devBrokers, false, "", ""},
		{"jar elsewhere", "https://repo.example.com/jars/wordcount.jar", devBrokers, true, "http://127.0.0.1:41001", ""},
		{"port prefix only", "http://127.0.0.1:89890/x.jar", devBrokers, true, "http://127.0.0.1:41001", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("FLINKFERRY_DEV_STATE", filepath.Join(t.TempDir(), "dev.json"))
			if tc.running {
				if err := devstate.Write(devstate.State{PID: os.Getpid(), KafkaBrokers: devBrokers, ArtifactsURL: tc.artifacts}); err != nil {
					t.Fatal(err)
				}
			}
			req := &messages.SubmitRequested{Program: &messages.Program{Jar: messages.Jar{URL: tc.jar}}}
			if got := useDevArtifacts(req, tc.brokers); got != tc.want {
				t.Errorf("useDevArtifacts() = %q, want %q", got, tc.want)
			}
			want := tc.want
			if want == "" {
				want = tc.jar
			}
			if got := req.Program.Jar.URL; got != want {
				t.Errorf("jar URL = %q, want %q", got, want)
			}
		})
	}
}
