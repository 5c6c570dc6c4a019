package build

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
)

// TestWorkerEndToEnd runs the build worker on kfake with the Debian
// registry: a submit request in, image built out (and on the status topic),
// a missing jar out as build failed.
func TestWorkerEndToEnd(t *testing.T) {
	k := testenv.Kafka(t)
	reg := testenv.DockerRegistry(t)
	_, jar := writeJar(t, t.TempDir(), 200_000)
	arts := newArtifactServer(t, jar)
	baseRef, _ := pushBase(t, reg, "library/flink:1.20")

	cfg := Config{Common: k.WorkerCommon(), Build: BuildConfig{
		Registry: reg.Host, RegistryNamespace: "jobs", RegistryUsername: reg.Username, RegistryPassword: reg.Password,
		RegistryInsecure: true, DefaultBaseImage: reg.Host + "/library/flink:{version}", LayerEncoding: EncodingGzipStored,
		ArtifactAllowedHosts: []string{arts.host()}, ArtifactMaxBytes: 64 << 20,
	}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	testenv.RunWorker(t, Spec(cfg))

	topics := cfg.Kafka.Topics()
	submit := func(id, jarPath string) {
		v := fmt.Appendf(nil, `{"request_id":%q,"job":{"namespace":"flink","cluster_id":%q},"mode":"application",`+
			`"flink":{"version":"1.20"},"program":{"jar":{"url":%q}}}`, id, id, arts.URL+jarPath)
		k.Produce(t, topics.Submit, "/flink/"+id, v, nil)
	}
	submit("wordcount", "/wordcount.jar")
	submit("missing", "/missing.jar")

	built := k.Consume(t, topics.ImageBuilt, 1, 60*time.Second)
	if len(built) != 1 {
		t.Fatalf("image built records = %d, want 1", len(built))
	}
	var ib messages.ImageBuilt
	if err := json.Unmarshal(built[0].Value, &ib); err != nil {
		t.Fatal(err)
	}
	if got, want := testenv.Header(built[0], "ce_type"), messages.TypeImageBuilt; got != want {
		t.Errorf("ce_type = %q, want %q", got, want)
	}
	if got, want := string(built[0].Key), "/flink/wordcount"; got != want {
		t.Errorf("key = %q, want %q", got, want)
	}
	if ib.BaseImage != baseRef || ib.Request.RequestID != "wordcount" || ib.JarName != "wordcount.jar" {
		t.Errorf("image built = %+v", ib)
	}
	img, err := remote.Image(mustRef(t, ib.Image), regOpts(reg)...)
	if err != nil {
		t.Fatalf("pulling %s: %v", ib.Image, err)
	}
	layers, _ := img.Layers()
	assertJarInLayer(t, layers[len(layers)-1], jar)

	// The status topic has the image built and the build failed.
	status := k.Consume(t, topics.Status, 2, 60*time.Second)
	reasons := map[string]string{}
	for _, r := range status {
		ev, _, err := messages.DecodeMessage(headers(r.Headers), "", r.Value)
		if err != nil {
			t.Fatal(err)
		}
		switch e := ev.(type) {
		case *messages.BuildFailed:
			reasons[e.RequestID] = e.Reason
		case *messages.ImageBuilt:
			reasons[e.RequestID] = "built"
		}
	}
	if reasons["wordcount"] != "built" || reasons["missing"] != messages.BuildReasonArtifactNotFound {
		t.Errorf("status events = %v, want wordcount built and missing %s", reasons, messages.BuildReasonArtifactNotFound)
	}
}
