package dev

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/flinkferry/flinkferry/internal/devstate"
	"github.com/flinkferry/flinkferry/internal/testenv"
)

// Namespace is the Kubernetes namespace dev jobs are deployed to.
const Namespace = "flink-jobs"

// TopicPrefix is the topic prefix of the embedded Kafka cluster.
const TopicPrefix = "flinkferry."

// JarPath is the URL path of the generated example jar on the artifact server.
const JarPath = "/jars/wordcount.jar"

// FlinkVersions are the Flink versions stand-in base images are pushed for.
var FlinkVersions = []string{"1.20"}

// Options says which ports the embedded peers listen on and which peers are
// replaced by real ones. A port of 0 picks a free one (tests); a negative
// port means the default.
type Options struct {
	// KafkaPort is the first broker port (default 9092 when -1).
	KafkaPort int
	// RegistryPort is the registry port (default 5000 when -1).
	RegistryPort int
	// ArtifactPort is the artifact server port (default 8989 when -1).
	ArtifactPort int
	// Kafka, when set, replaces the embedded cluster with these brokers.
	Kafka []string
	// RedisURL, when set, replaces the local Redis.
	RedisURL string
	// EmbeddedRedis uses the in-process miniredis even when a redis-server
	// binary is installed (tests of the fallback). Without it, Start runs
	// redis-server when it is on PATH, else miniredis.
	EmbeddedRedis bool
	// Registry, when set (host:port), replaces the embedded registry; no
	// stand-in base images are pushed to it.
	Registry string
	// NoState skips writing the devstate file.
	NoState bool
}

// Entries of Env.Simulated saying which Redis runs.
const (
	SimRedisServer   = "redis (local redis-server)"
	SimRedisEmbedded = "redis (embedded miniredis)"
)

// DefaultOptions returns the ports `flinkferry dev` uses by default.
func DefaultOptions() Options {
	return Options{KafkaPort: 9092, RegistryPort: 5000, ArtifactPort: 8989}
}

// Env is a running set of embedded peers.
type Env struct {
	// KafkaBrokers are the broker addresses.
	KafkaBrokers []string
	// RedisURL is the Redis URL (redis://127.0.0.1:port/0).
	RedisURL string
	// Registry is the registry host:port (plain HTTP).
	Registry string
	// ArtifactsURL is the artifact server's base URL.
	ArtifactsURL string
	// ArtifactsDir is the directory the artifact server serves.
	ArtifactsDir string
	// Simulated lists the peers that are embedded rather than real.
	Simulated []string

	closers []func()
	control atomic.Value // http.Handler of ControlPath
}

// SetControl serves h under ControlPath on the artifact server (the dev
// controls, such as ControlHandler).
func (e *Env) SetControl(h http.Handler) { e.control.Store(h) }

// JarURL returns the example jar's URL.
func (e *Env) JarURL() string { return e.ArtifactsURL + JarPath }

// BaseImage returns the default base image template for the build worker
// ({version} replaced by the request's Flink version).
func (e *Env) BaseImage() string { return e.Registry + "/library/flink:{version}" }

// Start starts the peers not replaced in o, pushes the stand-in base images,
// and writes the devstate file. On error, whatever started is stopped.
func Start(ctx context.Context, o Options) (_ *Env, err error) {
	e := &Env{}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	if len(o.Kafka) > 0 {
		e.KafkaBrokers = o.Kafka
	} else {
		port := o.KafkaPort
		if port < 0 {
			port = 9092
		}
		opts := []kfake.Opt{kfake.NumBrokers(1), kfake.DefaultNumPartitions(testenv.Partitions), kfake.AllowAutoTopicCreation(),
			kfake.GroupMinSessionTimeout(100 * time.Millisecond)}
		if port > 0 {
			opts = append(opts, kfake.Ports(port))
		}
		c, err := kfake.NewCluster(opts...)
		if err != nil {
			return nil, fmt.Errorf("starting the Kafka cluster: %w", err)
		}
		e.closers = append(e.closers, c.Close)
		e.KafkaBrokers = c.ListenAddrs()
		e.Simulated = append(e.Simulated, "kafka (kfake)")
	}
	if o.RedisURL != "" {
		e.RedisURL = o.RedisURL
	} else if _, err := exec.LookPath("redis-server"); err == nil && !o.EmbeddedRedis {
		r, err := testenv.StartRedis()
		if err != nil {
			return nil, fmt.Errorf("starting Redis: %w", err)
		}
		e.closers = append(e.closers, r.Stop)
		e.RedisURL = "redis://" + r.Addr + "/0"
		e.Simulated = append(e.Simulated, SimRedisServer)
	} else {
		m, err := startMiniredis()
		if err != nil {
			return nil, err
		}
		e.closers = append(e.closers, m.Close)
		e.RedisURL = "redis://" + m.Addr() + "/0"
		e.Simulated = append(e.Simulated, SimRedisEmbedded)
	}
	if o.Registry != "" {
		e.Registry = o.Registry
	} else {
		addr, stop, err := serve(o.RegistryPort, 5000, registry.New(registry.Logger(log.New(io.Discard, "", 0))))
		if err != nil {
			return nil, fmt.Errorf("starting the registry: %w", err)
		}
		e.closers = append(e.closers, stop)
		e.Registry = addr
		e.Simulated = append(e.Simulated, "registry (in-memory)")
		if err := pushBaseImages(ctx, addr); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", "flinkferry-dev-artifacts-")
	if err != nil {
		return nil, fmt.Errorf("creating the artifact directory: %w", err)
	}
	e.closers = append(e.closers, func() { os.RemoveAll(dir) })
	e.ArtifactsDir = dir
	if err := os.MkdirAll(filepath.Join(dir, "jars"), 0o755); err != nil {
		return nil, fmt.Errorf("creating the artifact directory: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "jars", "wordcount.jar"), ExampleJar(), 0o644); err != nil {
		return nil, fmt.Errorf("writing the example jar: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.Dir(dir)))
	mux.HandleFunc(ControlPath, func(w http.ResponseWriter, r *http.Request) {
		h, _ := e.control.Load().(http.Handler)
		if h == nil {
			http.Error(w, "flinkferry dev is still starting", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	})
	addr, stop, err := serve(o.ArtifactPort, 8989, mux)
	if err != nil {
		return nil, fmt.Errorf("starting the artifact server: %w", err)
	}
	e.closers = append(e.closers, stop)
	e.ArtifactsURL = "http://" + addr
	if !o.NoState {
		if err := WriteState(e, ""); err != nil {
			return nil, err
		}
		e.closers = append(e.closers, func() { _ = devstate.Remove() })
	}
	return e, nil
}

// Close stops the peers in reverse start order and removes the state file.
// It is safe to call more than once.
func (e *Env) Close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
	e.closers = nil
}

// startMiniredis starts an in-process miniredis on a free loopback port
// whose TTLs run on the wall clock, as a real server's do (miniredis
// otherwise expires keys only when told to), so leases and retention
// expire.
func startMiniredis() (*miniredis.Miniredis, error) {
	m := miniredis.NewMiniRedis()
	m.ClockTTL(true)
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("starting the embedded Redis: %w", err)
	}
	return m, nil
}

// serve listens on 127.0.0.1:port (def when port < 0, free when 0) and
// serves h until stop.
func serve(port, def int, h http.Handler) (string, func(), error) {
	if port < 0 {
		port = def
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return "", nil, err
	}
	s := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.Serve(l) }()
	return l.Addr().String(), func() { _ = s.Close() }, nil
}

// pushBaseImages pushes a small random image as <registry>/library/flink:V
// for every FlinkVersions entry, so builds need no internet.
func pushBaseImages(ctx context.Context, reg string) error {
	img, err := random.Image(1024, 1)
	if err != nil {
		return fmt.Errorf("making the stand-in base image: %w", err)
	}
	var errs []error
	for _, v := range FlinkVersions {
		ref, err := name.NewTag(reg+"/library/flink:"+v, name.Insecure)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
			errs = append(errs, fmt.Errorf("pushing the stand-in base image %s: %w", ref, err))
		}
	}
	return errors.Join(errs...)
}

// ExampleJar returns a deterministic jar (zip) whose manifest names
// org.apache.flink.examples.WordCount as its Main-Class.
func ExampleJar() []byte {
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	mod := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, f := range []struct{ name, body string }{
		{"META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\nMain-Class: org.apache.flink.examples.WordCount\r\n\r\n"},
		{"org/apache/flink/examples/README.txt", "stand-in WordCount jar generated by flinkferry dev\n"},
	} {
		w, err := z.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: mod})
		if err != nil {
			panic(err)
		}
		_, _ = io.WriteString(w, f.body)
	}
	if err := z.Close(); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// WriteState writes the devstate file for e with Kubernetes kind kube
// (Start does so itself unless Options.NoState; the command writes it once
// Kubernetes is up too).
func WriteState(e *Env, kube string) error {
	return devstate.Write(devstate.State{PID: os.Getpid(), KafkaBrokers: e.KafkaBrokers, TopicPrefix: TopicPrefix,
		RedisURL: e.RedisURL, Registry: e.Registry, ArtifactsURL: e.ArtifactsURL, ArtifactsDir: e.ArtifactsDir,
		Kubernetes: kube, Namespace: Namespace})
}

// RemoveState removes the devstate file, ignoring errors.
func RemoveState() { _ = devstate.Remove() }
