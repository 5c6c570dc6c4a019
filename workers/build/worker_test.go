package build

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/flinkferry/flinkferry/internal/admission"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
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
		PolicyVars: kubeclusters.PolicyVars{AllowedNamespaces: []string{"flink"}, AllowedServiceAccounts: []string{"default"},
			SavepointDirs: []string{"s3://flink-state/"}},
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
	// Refused before any work: a service account named by a dynamic
	// option, a privileged pod template (baseline by default), savepoints
	// written outside the allow-list.
	intruders := map[string]string{
		"intruder-sa":  `"dynamic_options":["-Dkubernetes.jobmanager.service-account=cluster-admin"]`,
		"intruder-psa": `"dynamic_options":["-Dkubernetes.hostnetwork.enabled=true"]`,
		"intruder-sp":  `"dynamic_options":["-Dstate.savepoints.dir=s3://elsewhere/sp"]`,
	}
	for id, opts := range intruders {
		v := fmt.Appendf(nil, `{"request_id":%q,"job":{"namespace":"flink","cluster_id":%q},"mode":"application",`+
			`"flink":{"version":"1.20",%s},"program":{"jar":{"url":%q}}}`, id, id, opts, arts.URL+"/"+id+".jar")
		k.Produce(t, topics.Submit, "/flink/"+id, v, nil)
	}

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

	// The status topic has the image built and the build failures.
	status := k.Consume(t, topics.Status, 2+len(intruders), 60*time.Second)
	reasons, texts := map[string]string{}, map[string]string{}
	for _, r := range status {
		ev, _, err := messages.DecodeMessage(headers(r.Headers), "", r.Value)
		if err != nil {
			t.Fatal(err)
		}
		switch e := ev.(type) {
		case *messages.BuildFailed:
			reasons[e.RequestID], texts[e.RequestID] = e.Reason, e.Message
		case *messages.ImageBuilt:
			reasons[e.RequestID] = "built"
		}
	}
	if reasons["wordcount"] != "built" || reasons["missing"] != messages.BuildReasonArtifactNotFound {
		t.Errorf("status events = %v, want wordcount built and missing %s", reasons, messages.BuildReasonArtifactNotFound)
	}
	if reasons["intruder-sa"] != messages.DeployReasonServiceAccountNotAllowed || reasons["intruder-psa"] != admission.ReasonPodSecurity ||
		reasons["intruder-sp"] != messages.DeployReasonSavepointLocationNotAllowed {
		t.Errorf("status events = %v, want intruder-sa %s, intruder-psa %s, intruder-sp %s", reasons,
			messages.DeployReasonServiceAccountNotAllowed, admission.ReasonPodSecurity, messages.DeployReasonSavepointLocationNotAllowed)
	}
	if !strings.HasPrefix(texts["missing"], "program.jar.url: ") {
		t.Errorf("missing: message %q does not name program.jar.url", texts["missing"])
	}
	// Nothing fetched, nothing pushed for them.
	for id := range intruders {
		if n := arts.count("/" + id + ".jar"); n != 0 {
			t.Errorf("%s: jar fetched %d times, want 0", id, n)
		}
		if _, err := remote.List(mustRepo(t, reg.Host+"/jobs/"+id), regOpts(reg)...); err == nil {
			t.Errorf("%s: repository jobs/%s exists in the registry", id, id)
		}
	}
}
