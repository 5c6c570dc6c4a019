package build

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
)

func testTopics() messages.Topics { return messages.DefaultTopics("flinkferry.") }

func submitRequest(mode messages.Mode, jar messages.Jar) *messages.SubmitRequested {
	r := &messages.SubmitRequested{
		RequestID: "req-1",
		Job:       messages.JobRef{Namespace: "flink", ClusterID: "wordcount"},
		Mode:      mode,
		Flink:     messages.FlinkOptions{Version: "1.20"},
		Labels:    map[string]string{"team": "data"},
	}
	if mode == messages.ModeSession {
		r.SessionClusterID = "shared-session"
	}
	if mode != messages.ModeSessionCluster {
		r.Program = &messages.Program{Jar: jar}
	}
	return r
}

func TestHandlerModes(t *testing.T) {
	reg := testenv.InProcessRegistry(t)
	_, jar := writeJar(t, t.TempDir(), 20_000)
	arts := newArtifactServer(t, jar)
	baseRef, _ := pushBase(t, reg, "library/flink:1.20")
	h := &Handler{
		Builder: newTestBuilder(reg, arts.host()), Admitter: allowAll(t), Topics: testTopics(),
		DefaultBaseImage: reg.Host + "/library/flink:{version}", MavenRepository: arts.URL + "/maven2",
	}
	tests := []struct {
		name   string
		req    *messages.SubmitRequested
		check  func(t *testing.T, ev messages.Event)
		topics []string
	}{
		{"application from a URL", submitRequest(messages.ModeApplication, messages.Jar{URL: arts.URL + "/wordcount.jar"}),
			func(t *testing.T, ev messages.Event) {
				ib := ev.(*messages.ImageBuilt)
				if ib.BaseImage != baseRef || ib.Labels["team"] != "data" || ib.Image == "" {
					t.Errorf("image built = %+v", ib)
				}
			}, []string{"flinkferry.image-built", "flinkferry.status"}},
		{"application from a Maven coordinate", submitRequest(messages.ModeApplication, messages.Jar{Maven: "org.example:wordcount:1.0"}),
			func(t *testing.T, ev messages.Event) {
				if _, ok := ev.(*messages.ImageBuilt); !ok {
					t.Fatalf("event = %#v, want image built", ev)
				}
				if got := arts.count("/maven2/org/example/wordcount/1.0/wordcount-1.0.jar"); got != 1 {
					t.Errorf("maven jar fetched %d times, want 1", got)
				}
			}, []string{"flinkferry.image-built", "flinkferry.status"}},
		{"maven checksum mismatch", submitRequest(messages.ModeApplication, messages.Jar{Maven: "org.tampered:wordcount:1.0"}),
			func(t *testing.T, ev messages.Event) {
				bf, ok := ev.(*messages.BuildFailed)
				if !ok || bf.Reason != messages.BuildReasonChecksumMismatch {
					t.Fatalf("event = %#v, want build failed %s", ev, messages.BuildReasonChecksumMismatch)
				}
			}, []string{"flinkferry.status"}},
		{"session job stages the jar", submitRequest(messages.ModeSession, messages.Jar{URL: arts.URL + "/wordcount.jar"}),
			func(t *testing.T, ev messages.Event) {
				ib := ev.(*messages.ImageBuilt)
				if ib.JarArtifact == "" || ib.Image != "" {
					t.Fatalf("image built = %+v, want a jar artifact only", ib)
				}
				img, err := remote.Image(mustRef(t, ib.JarArtifact))
				if err != nil {
					t.Fatal(err)
				}
				layers, _ := img.Layers()
				rc, _ := layers[0].Compressed()
				defer rc.Close()
				got := make([]byte, len(jar)+1)
				n, _ := readFull(rc, got)
				if n != len(jar) || string(got[:n]) != string(jar) {
					t.Errorf("staged jar differs (%d bytes, want %d)", n, len(jar))
				}
			}, []string{"flinkferry.image-built", "flinkferry.status"}},
		{"session cluster pins the base", submitRequest(messages.ModeSessionCluster, messages.Jar{}),
			func(t *testing.T, ev messages.Event) {
				ib := ev.(*messages.ImageBuilt)
				if ib.Image == "" || ib.JarSHA256 != "" {
					t.Fatalf("image built = %+v, want the base pinned by digest", ib)
				}
			}, []string{"flinkferry.image-built", "flinkferry.status"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outs, err := h.Handle(bg, tt.req)
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if len(outs) != 1 {
				t.Fatalf("outputs = %d, want 1", len(outs))
			}
			if got, want := outs[0].Topics, tt.topics; len(got) != len(want) || got[0] != want[0] {
				t.Errorf("topics = %v, want %v", got, want)
			}
			if err := outs[0].Event.Validate(); err != nil {
				t.Errorf("emitted event does not validate: %v", err)
			}
			tt.check(t, outs[0].Event)
		})
	}
}
