package dev

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/flinkferry/flinkferry/internal/devstate"
	"github.com/flinkferry/flinkferry/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestStart proves the peers answer: Kafka accepts a produce, the artifact
// server serves the example jar, the stand-in base image is pullable, the
// state file is written on Start and removed on Close.
func TestStart(t *testing.T) {
	testenv.LookPath(t, "redis-server")
	t.Setenv("FLINKFERRY_DEV_STATE", filepath.Join(t.TempDir(), "dev.json"))
	ctx := context.Background()
	e, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()

	st, err := devstate.Read()
	if err != nil {
		t.Fatalf("devstate.Read() = %v", err)
	}
	if st.RedisURL != e.RedisURL || st.Registry != e.Registry || st.Namespace != Namespace {
		t.Errorf("state = %+v, env = %+v", st, e)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(e.KafkaBrokers...), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: TopicPrefix + "submit", Value: []byte("x")}).FirstErr(); err != nil {
		t.Errorf("produce: %v", err)
	}

	resp, err := http.Get(e.JarURL())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(body, ExampleJar()) {
		t.Errorf("jar served differs from ExampleJar()")
	}

	ref, _ := name.NewTag(e.Registry+"/library/flink:1.20", name.Insecure)
	if _, err := remote.Image(ref); err != nil {
		t.Errorf("pulling the stand-in base image: %v", err)
	}

	e.Close()
	if _, err := devstate.Read(); err == nil {
		t.Errorf("state file still present after Close")
	}
}

// TestExampleJar proves the jar is deterministic and names WordCount.
func TestExampleJar(t *testing.T) {
	a, b := ExampleJar(), ExampleJar()
	if !bytes.Equal(a, b) {
		t.Fatal("ExampleJar is not deterministic")
	}
	z, err := zip.NewReader(bytes.NewReader(a), int64(len(a)))
	if err != nil {
		t.Fatal(err)
	}
	f, err := z.Open("META-INF/MANIFEST.MF")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(f)
	if !bytes.Contains(m, []byte("Main-Class: org.apache.flink.examples.WordCount")) {
		t.Errorf("manifest = %q", m)
	}
}
