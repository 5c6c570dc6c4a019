package build

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/internal/redisclient"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// countingRegistry is an in-process registry counting the requests it
// serves.
func countingRegistry(t *testing.T) (testenv.Registry, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return testenv.Registry{Host: strings.TrimPrefix(s.URL, "http://")}, &n
}

// TestRequestIDConflictRefusedBeforeTheBuild runs the build worker with
// FLINKFERRY_BUILD_REQUEST_HASHES on kfake and redis-server: a request
// built once, the same request again (a redelivery: built again, as
// before), then the same request id with other content: refused
// request_id_conflict naming both content hashes (a build failed event on
// the status topic, the request on the dead-letter topic with the
// reason), without a single request to the registry or to the artifact
// server; a new request id with that content is built.
func TestRequestIDConflictRefusedBeforeTheBuild(t *testing.T) {
	k, r := testenv.Kafka(t), testenv.Redis(t)
	reg, regCalls := countingRegistry(t)
	_, jar := writeJar(t, t.TempDir(), 20_000)
	arts := newArtifactServer(t, jar)
	pushBase(t, reg, "library/flink:1.20")

	cfg := Config{Common: k.WorkerCommon(), Build: BuildConfig{
		Registry: reg.Host, RegistryNamespace: "jobs", RegistryInsecure: true,
		DefaultBaseImage: reg.Host + "/library/flink:{version}", LayerEncoding: EncodingGzipStored,
		ArtifactAllowedHosts: []string{arts.host()}, ArtifactMaxBytes: 64 << 20,
		PolicyVars:    kubeclusters.PolicyVars{AllowedNamespaces: []string{"flink"}, AllowedServiceAccounts: []string{"default"}},
		RequestHashes: true, RequestHashRetention: time.Hour, RequestHashRedisPrefix: "ff:build:",
	}, Redis: redisclient.Config{URL: r.URL(), Timeout: 2 * time.Second}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	testenv.RunWorker(t, Spec(cfg))
	topics := cfg.Kafka.Topics()

	request := func(id, jarPath string, parallelism int) []byte {
		return fmt.Appendf(nil, `{"request_id":%q,"job":{"namespace":"flink","cluster_id":"conflicted"},"mode":"application",`+
			`"flink":{"version":"1.20","parallelism":%d},"program":{"jar":{"url":%q}}}`, id, parallelism, arts.URL+jarPath)
	}
	send := func(v []byte) { k.Produce(t, topics.Submit, "/flink/conflicted", v, nil) }
	decode := func(v []byte) *messages.SubmitRequested {
		ev, _, err := messages.DecodeMessage(nil, messages.TypeSubmitRequested, v)
		if err != nil {
			t.Fatal(err)
		}
		return ev.(*messages.SubmitRequested)
	}

	first := request("req-a", "/wordcount.jar", 1)
	send(first)
	send(first)
	if got := k.Consume(t, topics.ImageBuilt, 2, 60*time.Second); len(got) != 2 {
		t.Fatalf("image built records = %d, want 2 (the request and its redelivery)", len(got))
	}
	calls, fetches := regCalls.Load(), arts.count("/other.jar")

	changed := request("req-a", "/other.jar", 2)
	send(changed)
	dead := k.Consume(t, topics.DeadLetter, 1, 60*time.Second)
	if len(dead) != 1 {
		t.Fatalf("dead-letter records = %d, want the changed request", len(dead))
	}
	if got, want := testenv.Header(dead[0], bus.ReasonHeader), ReasonRequestIDConflict; got != want {
		t.Errorf("dead letter reason = %q, want %q", got, want)
	}
	if got := regCalls.Load() - calls; got != 0 {
		t.Errorf("registry requests while refusing = %d, want 0", got)
	}
	if got := arts.count("/other.jar") - fetches; got != 0 {
		t.Errorf("jar fetches while refusing = %d, want 0", got)
	}
	hashA, _ := messages.ContentHash(decode(first))
	hashB, _ := messages.ContentHash(decode(changed))
	var refusal *messages.BuildFailed
	for _, rec := range k.Consume(t, topics.Status, 3, 30*time.Second) {
		ev, _, err := messages.DecodeMessage(headers(rec.Headers), "", rec.Value)
		if err != nil {
			t.Fatal(err)
		}
		if bf, ok := ev.(*messages.BuildFailed); ok {
			refusal = bf
		}
	}
	if refusal == nil || refusal.Reason != ReasonRequestIDConflict || refusal.RequestID != "req-a" ||
		!strings.Contains(refusal.Message, hashA) || !strings.Contains(refusal.Message, hashB) {
		t.Fatalf("status refusal = %+v, want request_id_conflict of req-a naming %s and %s", refusal, hashA, hashB)
	}

	// The changed content under a new request id is built.
	send(request("req-b", "/other.jar", 2))
	if got := k.Consume(t, topics.ImageBuilt, 3, 60*time.Second); len(got) != 3 {
		t.Fatalf("image built records = %d, want 3 (req-b built)", len(got))
	}
}

// TestRememberRace: of two contents built concurrently under one request
// id, the first remembered wins and the other is a conflict.
func TestRememberRace(t *testing.T) {
	r := testenv.Redis(t)
	ctx := context.Background()
	rdb, err := redisclient.New(ctx, redisclient.Config{URL: r.URL(), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	hs := &RedisRequestHashes{Client: rdb, Prefix: "ff:test-build:", TTL: time.Minute}
	a := &messages.SubmitRequested{RequestID: "race-1", Job: messages.JobRef{Namespace: "n", ClusterID: "c"}, Mode: messages.ModeApplication}
	b := *a
	b.Labels = map[string]string{"v": "2"}
	tests := []struct {
		name    string
		req     *messages.SubmitRequested
		check   bool // checkRequestID (before the build) or remember (after)
		wantErr bool
	}{
		{"a checked, nothing known", a, true, false},
		{"b checked, nothing known", &b, true, false},
		{"a remembered first", a, false, false},
		{"b remembered second: conflict", &b, false, true},
		{"a again", a, true, false},
		{"b checked now: conflict", &b, true, true},
	}
	for _, tc := range tests {
		hash, _ := messages.ContentHash(tc.req)
		var err error
		if tc.check {
			_, err = checkRequestID(ctx, hs, tc.req)
		} else {
			err = remember(ctx, hs, tc.req, hash)
		}
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: error %v, want error %v", tc.name, err, tc.wantErr)
		}
	}
	if ttl := rdb.TTL(ctx, "ff:test-build:req:race-1").Val(); ttl <= 0 || ttl > time.Minute {
		t.Errorf("TTL of the record = %s, want within a minute", ttl)
	}
}
