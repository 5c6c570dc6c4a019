package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	goredis "github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/flinkferry/flinkferry/cmd/flinkferry/dev"
	"github.com/flinkferry/flinkferry/internal/devproc"
	"github.com/flinkferry/flinkferry/internal/redisclient"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

// shards is FLINKFERRY_TRACK_SHARDS of the track workers and of the store
// the test reads.
const shards = 16

// recoveryInterval is FLINKFERRY_TRACK_RECOVERY_INTERVAL of the track
// workers: how often they rebuild the tracked set from Kubernetes.
const recoveryInterval = 20 * time.Second

// stack is the peers and the worker processes of one run.
type stack struct {
	kafka *testenv.KafkaCluster
	// kafkaDown makes every broker close each connection at its first
	// request (SetKafkaDown).
	kafkaDown atomic.Bool
	// redis is the workers' own redis-server, to kill and restart empty.
	redis *testenv.RedisProcess
	// kubeProxy stands between the workers and the kube-apiserver (the
	// simulated kubelet talks to it directly).
	kubeProxy *testenv.TCPProxy
	// trackARedis stands between track-a and Redis only (a partition
	// between replicas).
	trackARedis *testenv.TCPProxy
	// registry503 makes the registry answer 503 to every request.
	registry503 atomic.Bool
	// hung holds the JobManagers (by "-rest" name) whose answers stop
	// midway, until the channel is closed.
	hung   sync.Map
	reg    testenv.Registry
	kube   *dev.Kube
	topics messages.Topics
	// producer writes the test's requests.
	producer *kgo.Client
	store    *jobstore.Store
	// jarURL is the example jar on the artifact server.
	jarURL string
	// pushes counts manifest PUTs per repository, through the registry
	// proxy the build workers use.
	pushes *counter
	// flink records the requests that reached the JobManagers, through
	// the proxy the workers use (HTTP_PROXY).
	flink *flinkLog
	// procs are the worker processes, by name (build-a, track-b, ...).
	procs []*testenv.Proc
	// alerts counts the alert notices the webhook receiver got, by
	// "<job key> <status>" (firing, resolved).
	alerts *counter
	// ops are the worker processes' ops endpoints (/metrics), by name.
	ops map[string]string
	// secrets are the registry password, the Kafka SASL password and the
	// workers' Kubernetes token: none may appear in any output.
	secrets []string
}

// Kafka SASL credentials of the workers (SCRAM-SHA-256).
const (
	kafkaUser     = "flinkferry"
	kafkaPassword = "kafka-S3cret-0f-the-faults-suite"
)

// startStack starts the peers and two replicas of the build, submit and
// track workers.
func startStack(t *testing.T) *stack {
	t.Helper()
	ctx := context.Background()
	s := &stack{kafka: testenv.Kafka(t, kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", kafkaUser, kafkaPassword)),
		reg: testenv.DockerRegistry(t), topics: messages.DefaultTopics("flinkferry."), pushes: newCounter(), flink: &flinkLog{}, ops: map[string]string{}, alerts: newCounter()}
	s.kafka.ClientOpts = []kgo.Opt{kgo.SASL(scram.Auth{User: kafkaUser, Pass: kafkaPassword}.AsSha256Mechanism())}
	s.producer = s.kafka.Client(t)
	s.kafka.Control(func(kmsg.Request) (kmsg.Response, error, bool) {
		s.kafka.KeepControl()
		if s.kafkaDown.Load() {
			return nil, errors.New("kafka is down (fault injected)"), true
		}
		return nil, nil, false
	})
	redis, err := testenv.StartRedis()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(redis.Stop)
	s.redis = redis
	redisURL := "redis://" + redis.Addr + "/0"
	kube, err := dev.StartKube(ctx, dev.KubeOptions{StartDelay: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kube.Close)
	if kube.Kind != dev.KubeSimulated {
		t.Fatalf("Kubernetes: %s, want the local kube-apiserver (run `bash hack/peers.sh`)", kube.Kind)
	}
	s.kube = kube
	token := workerToken(t, kube.Client)
	var kubeconfig string
	s.kubeProxy, kubeconfig = proxiedKubeconfig(t, kube.Kubeconfig, token)
	s.secrets = []string{s.reg.Password, kafkaPassword, token}

	// The registry behind a proxy that counts manifest pushes.
	regURL, _ := url.Parse("http://" + s.reg.Host)
	rp := httputil.NewSingleHostReverseProxy(regURL)
	manifest := regexp.MustCompile(`^/v2/(.+)/manifests/[^/]+$`)
	regProxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.registry503.Load() {
			http.Error(w, "fault injected", http.StatusServiceUnavailable)
			return
		}
		// What the registry accepted is counted, whether or not the
		// client was still there for the answer: a build worker SIGKILLed
		// during a manifest PUT the registry completed finds the manifest
		// on its redelivery and pushes nothing (a cancelled upstream
		// request counted no push: "0 manifest pushes" for a job running
		// its image, in one full-profile run).
		sw := &statusWriter{ResponseWriter: w}
		rp.ServeHTTP(sw, r.WithContext(context.WithoutCancel(r.Context())))
		if m := manifest.FindStringSubmatch(r.URL.Path); m != nil && r.Method == http.MethodPut && sw.status/100 == 2 {
			s.pushes.add(m[1])
		}
	}))
	t.Cleanup(regProxy.Close)
	regHost := strings.TrimPrefix(regProxy.URL, "http://")
	auth := remote.WithAuth(&authn.Basic{Username: s.reg.Username, Password: s.reg.Password})
	base, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range dev.FlinkVersions {
		ref, err := name.NewTag(s.reg.Host+"/library/flink:"+v, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, base, auth); err != nil {
			t.Fatalf("pushing the base image: %v", err)
		}
	}

	// The JobManagers: the workers reach `<id>-rest.<namespace>:8081`
	// through HTTP_PROXY, this recording proxy in front of the simulator
	// (which routes by host name).
	simURL, _ := url.Parse(kube.Sim.URL())
	sp := httputil.NewSingleHostReverseProxy(simURL)
	flinkProxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.flink.add(r)
		if release, ok := s.hung.Load(restName(r.Host)); ok {
			// Headers and half a body, then nothing until released.
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(`{"jobs":[{"id":"`))
			w.(http.Flusher).Flush()
			select {
			case <-release.(chan struct{}):
			case <-r.Context().Done():
			}
			return
		}
		sp.ServeHTTP(w, r)
	}))
	t.Cleanup(flinkProxy.Close)

	jar := dev.ExampleJar()
	artifacts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/java-archive")
		_, _ = w.Write(jar)
	}))
	t.Cleanup(artifacts.Close)
	s.jarURL = artifacts.URL + "/wordcount.jar"
	artifactHost := strings.TrimPrefix(artifacts.URL, "http://")

	rdb, err := redisclient.New(ctx, redisclient.Config{URL: redisURL, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	if s.store, err = jobstore.New(rdb, jobstore.Options{Prefix: "ff:", Shards: shards}); err != nil {
		t.Fatal(err)
	}

	// The alert workers' webhook: one notice per suspended job expected.
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n struct{ Key, Status string }
		if err := json.NewDecoder(r.Body).Decode(&n); err == nil {
			s.alerts.add(n.Key + " " + n.Status)
		}
	}))
	t.Cleanup(hook.Close)
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, fmt.Appendf(nil, `channels:
  - name: sink
    url: %s
rules:
  - name: job-suspended
    severity: info
    match: {to: [SUSPENDED]}
    channels: [sink]
`, hook.URL+"/alerts"), 0o600); err != nil {
		t.Fatal(err)
	}

	common := append(devproc.ScrubbedEnv(),
		"HTTP_PROXY="+flinkProxy.URL, "NO_PROXY=127.0.0.1,localhost",
		"FLINKFERRY_KAFKA_BROKERS="+strings.Join(s.kafka.Brokers, ","),
		"FLINKFERRY_KAFKA_SASL_MECHANISM=SCRAM-SHA-256",
		"FLINKFERRY_KAFKA_SASL_USERNAME="+kafkaUser,
		"FLINKFERRY_KAFKA_SASL_PASSWORD="+kafkaPassword,
		"FLINKFERRY_KAFKA_TOPIC_PREFIX=flinkferry.",
		"FLINKFERRY_KAFKA_CREATE_TOPICS=true",
		"FLINKFERRY_KAFKA_PARTITIONS="+strconv.Itoa(testenv.Partitions),
		"FLINKFERRY_KAFKA_REPLICATION_FACTOR=3",
		"FLINKFERRY_KAFKA_SESSION_TIMEOUT=6s",
		"FLINKFERRY_KAFKA_HEARTBEAT_INTERVAL=300ms",
		"FLINKFERRY_KAFKA_REBALANCE_TIMEOUT=10s",
		"FLINKFERRY_HANDLER_TIMEOUT=30s",
		"FLINKFERRY_HANDLER_MAX_RETRIES=5",
		"FLINKFERRY_HANDLER_RETRY_INITIAL_INTERVAL=100ms",
		"FLINKFERRY_HANDLER_RETRY_MAX_INTERVAL=2s",
		"FLINKFERRY_HANDLER_RETRY_MAX_ELAPSED=20s",
		"FLINKFERRY_LOG_LEVEL=info",
		"FLINKFERRY_LOG_FORMAT=text",
	)
	env := map[string][]string{
		"build": {
			"FLINKFERRY_BUILD_REGISTRY=" + regHost,
			"FLINKFERRY_BUILD_REGISTRY_USERNAME=" + s.reg.Username,
			"FLINKFERRY_BUILD_REGISTRY_PASSWORD=" + s.reg.Password,
			"FLINKFERRY_BUILD_REGISTRY_INSECURE=true",
			"FLINKFERRY_BUILD_DEFAULT_BASE_IMAGE=" + regHost + "/library/flink:{version}",
			"FLINKFERRY_BUILD_ARTIFACT_ALLOWED_HOSTS=" + artifactHost,
			"FLINKFERRY_BUILD_ALLOWED_NAMESPACES=" + dev.Namespace,
		},
		"submit": {
			"FLINKFERRY_SUBMIT_KUBECONFIG=" + kubeconfig,
			"FLINKFERRY_SUBMIT_ALLOWED_NAMESPACES=" + dev.Namespace,
			"FLINKFERRY_SUBMIT_REGISTRY=" + regHost,
			"FLINKFERRY_SUBMIT_REGISTRY_USERNAME=" + s.reg.Username,
			"FLINKFERRY_SUBMIT_REGISTRY_PASSWORD=" + s.reg.Password,
			"FLINKFERRY_SUBMIT_REGISTRY_INSECURE=true",
		},
		"alert": {
			"FLINKFERRY_REDIS_URL=" + redisURL,
			"FLINKFERRY_REDIS_TIMEOUT=2s",
			"FLINKFERRY_ALERT_RULES_FILE=" + rules,
			"FLINKFERRY_ALERT_RETRY_BUDGET=20s",
		},
		"track": {
			"FLINKFERRY_REDIS_URL=" + redisURL,
			"FLINKFERRY_REDIS_TIMEOUT=2s",
			"FLINKFERRY_TRACK_KUBECONFIG=" + kubeconfig,
			"FLINKFERRY_TRACK_NAMESPACES=" + dev.Namespace,
			"FLINKFERRY_TRACK_SHARDS=" + strconv.Itoa(shards),
			"FLINKFERRY_TRACK_LEASE_TTL=3s",
			"FLINKFERRY_TRACK_JOB_STATUS_INTERVAL=500ms",
			"FLINKFERRY_TRACK_CLUSTER_METRIC_INTERVAL=2s",
			"FLINKFERRY_TRACK_REQUEST_TIMEOUT=400ms",
			// Longer than the longest hang TestJobManagerHangsMidResponse
			// injects (1 min in the full profile, plus a track worker
			// restart): a hang shorter than this must never make a job
			// LOST. With the 60 s default the full profile raced it.
			"FLINKFERRY_TRACK_SILENT_STATE_KEEP=3m",
			"FLINKFERRY_TRACK_OPERATION_INTERVAL=300ms",
			"FLINKFERRY_TRACK_OPERATION_TIMEOUT=2m",
			"FLINKFERRY_TRACK_RECOVERY_INTERVAL=" + recoveryInterval.String(),
		},
	}
	ready := map[*testenv.Proc]string{}
	for _, w := range []string{"build", "submit", "track", "alert"} {
		for _, r := range []string{"a", "b"} {
			ops := "127.0.0.1:" + strconv.Itoa(testenv.StablePort(t))
			e := append(append(append([]string(nil), common...), env[w]...),
				"FLINKFERRY_OPS_ADDR="+ops, "FLINKFERRY_TRACK_REPLICA_ID="+w+"-"+r)
			if w == "track" && r == "a" {
				s.trackARedis = testenv.NewTCPProxy(t, redis.Addr)
				e = append(e, "FLINKFERRY_REDIS_URL=redis://"+s.trackARedis.Addr()+"/0")
			}
			p := testenv.StartProc(t, testenv.ProcOptions{Name: w + "-" + r, Dir: root, Bin: binary, Env: e,
				Args: []string{"worker", w}, Secrets: s.secrets})
			s.procs = append(s.procs, p)
			ready[p] = "http://" + ops + "/readyz"
			s.ops[p.Name] = "http://" + ops
		}
	}
	for p, u := range ready {
		waitReady(t, p, u, time.Minute)
	}
	return s
}

// waitReady waits until the process answers 200 on its readiness URL,
// failing t when it exits first or within passes.
func waitReady(t *testing.T, p *testenv.Proc, u string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if p.Exited() {
			t.Fatalf("%s exited while starting:\n%s", p.Name, p.Output())
		}
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within %s (%v)", p.Name, within, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// proxiedKubeconfig starts a TCP proxy to the API server of the
// kubeconfig at path and writes a copy of it naming the proxy (TLS passes
// through it) and authenticating with token.
func proxiedKubeconfig(t *testing.T, path, token string) (*testenv.TCPProxy, string) {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var proxy *testenv.TCPProxy
	for _, c := range cfg.Clusters {
		u, err := url.Parse(c.Server)
		if err != nil {
			t.Fatal(err)
		}
		if proxy == nil {
			proxy = testenv.NewTCPProxy(t, u.Host)
		}
		u.Host = proxy.Addr()
		c.Server = u.String()
	}
	if proxy == nil {
		t.Fatalf("kubeconfig %s names no cluster", path)
	}
	for _, a := range cfg.AuthInfos {
		*a = clientcmdapi.AuthInfo{Token: token}
	}
	out := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, out); err != nil {
		t.Fatal(err)
	}
	return proxy, out
}

// workerToken creates the workers' ServiceAccount (bound to cluster-admin:
// the chart's least-privilege roles are tested in charts/) and returns a
// token of it, a secret like any kubeconfig credential.
func workerToken(t *testing.T, cs kubernetes.Interface) string {
	t.Helper()
	ctx := context.Background()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "flinkferry-workers", Namespace: "default"}}
	if _, err := cs.CoreV1().ServiceAccounts("default").Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "flinkferry-workers"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa.Name, Namespace: "default"}},
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	hour := int64(3600)
	tr, err := cs.CoreV1().ServiceAccounts("default").CreateToken(ctx, sa.Name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &hour}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("requesting a token: %v", err)
	}
	return tr.Status.Token
}

// submit produces the application submit request of job id.
func (s *stack) submit(t *testing.T, id string) messages.JobRef {
	t.Helper()
	req := s.request(t, id)
	s.produce(t, s.topics.Submit, req)
	return req.Job
}

// request is the application submit request of job id (dev's demo).
func (s *stack) request(t *testing.T, id string) *messages.SubmitRequested {
	t.Helper()
	ev, err := messages.Decode(messages.TypeSubmitRequested, dev.DemoRequest(id, s.jarURL))
	if err != nil {
		t.Fatal(err)
	}
	return ev.(*messages.SubmitRequested)
}

// produce writes ev to topic with its CloudEvents headers, keyed by job.
func (s *stack) produce(t *testing.T, topic string, ev messages.Event) {
	t.Helper()
	if err := s.send(topic, ev); err != nil {
		t.Fatal(err)
	}
}

// send is produce for goroutines other than the test's.
func (s *stack) send(topic string, ev messages.Event) error {
	key, headers, value, err := messages.Encode(ev, messages.Envelope{Source: "faults-test"})
	if err != nil {
		return err
	}
	rec := &kgo.Record{Topic: topic, Key: []byte(key), Value: value}
	for hk, hv := range headers {
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: hk, Value: []byte(hv)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.producer.ProduceSync(ctx, rec).FirstErr(); err != nil {
		return fmt.Errorf("producing to %s: %w", topic, err)
	}
	return nil
}

// proc returns the worker process named name.
func (s *stack) proc(name string) *testenv.Proc {
	for _, p := range s.procs {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// restName is the JobManager name of a request's host,
// "<id>-rest.<namespace>:8081".
func restName(host string) string {
	if i := strings.IndexByte(host, '.'); i > 0 {
		return host[:i]
	}
	return host
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// counter counts by key, safe for concurrent use.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func newCounter() *counter { return &counter{n: map[string]int{}} }

func (c *counter) add(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[k]++
}

func (c *counter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.n {
		n += v
	}
	return n
}

func (c *counter) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[k]
}

// flinkLog records the requests that changed something in Flink: savepoint
// and stop triggers (with their trigger ids), cancels, jar runs.
type flinkLog struct {
	mu    sync.Mutex
	calls []flinkCall
}

type flinkCall struct {
	cluster, method, path, body string
	at                          time.Time
}

var flinkWrite = regexp.MustCompile(`/jobs/[0-9a-f]{32}/(savepoints|stop)$|/jars/[^/]+/run$|/jobs/[0-9a-f]{32}$`)

func (f *flinkLog) add(r *http.Request) {
	if r.Method == http.MethodGet || !flinkWrite.MatchString(r.URL.Path) {
		return
	}
	var body string
	if r.Body != nil {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(b))
		body = string(b)
	}
	host := restName(r.Host)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, flinkCall{cluster: host, method: r.Method, path: r.URL.Path, body: body, at: time.Now()})
}

// writes returns the recorded calls of cluster (its "-rest" name) whose
// path ends with suffix.
func (f *flinkLog) writes(cluster, suffix string) []flinkCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []flinkCall
	for _, c := range f.calls {
		if c.cluster == cluster && strings.HasSuffix(c.path, suffix) {
			out = append(out, c)
		}
	}
	return out
}

func (c flinkCall) String() string { return fmt.Sprintf("%s %s %s", c.method, c.path, c.body) }

// key is the job key of cluster id in the dev namespace.
func key(id string) string { return messages.JobRef{Namespace: dev.Namespace, ClusterID: id}.Key() }

// runJobs submits n application jobs named prefix-NN and waits until all
// are RUNNING.
func (s *stack) runJobs(t *testing.T, prefix string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%02d", prefix, i)
		s.submit(t, ids[i])
	}
	for _, id := range ids {
		if err := waitJob(s, key(id), messages.StateRunning, 3*time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// allRunning fails t when a worker process exited on its own.
func (s *stack) allRunning(t *testing.T) {
	t.Helper()
	for _, p := range s.procs {
		if p.Exited() {
			t.Errorf("%s exited on its own:\n%s", p.Name, p.Output())
		}
	}
}

// produceJSON produces the submit request written as JSON value.
func (s *stack) produceJSON(t *testing.T, topic string, value []byte) {
	t.Helper()
	ev, err := messages.Decode(messages.TypeSubmitRequested, value)
	if err != nil {
		t.Fatalf("request %s: %v", value, err)
	}
	s.produce(t, topic, ev)
}

// redisInfo returns the fields of one INFO section.
func (s *stack) redisInfo(section string) (map[string]string, error) {
	rdb := goredis.NewClient(&goredis.Options{Addr: s.redis.Addr})
	defer rdb.Close()
	txt, err := rdb.Info(context.Background(), section).Result()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, l := range strings.Split(txt, "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			out[k] = v
		}
	}
	return out, nil
}

// waitConsumed waits up to a minute until consumer group has no lag.
func (s *stack) waitConsumed(t *testing.T, group string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		lags, err := kadm.NewClient(s.kafka.Client(t)).Lag(ctx, group)
		cancel()
		if err == nil {
			if l, ok := lags[group]; ok && l.FetchErr == nil && l.DescribeErr == nil && l.Lag.Total() == 0 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("consumer group %s still behind after a minute (%v)", group, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// logGroups logs each consumer group's state, members and lag per
// partition (what a stalled group looks like).
func (s *stack) logGroups(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lags, err := kadm.NewClient(s.kafka.Client(t)).Lag(ctx, "flinkferry-build", "flinkferry-submit", "flinkferry-track")
	if err != nil {
		t.Logf("consumer groups: %v", err)
		return
	}
	for _, g := range lags.Sorted() {
		var members []string
		for _, m := range g.Members {
			members = append(members, m.ClientID+"@"+m.ClientHost)
		}
		t.Logf("group %s: state %s, members %v, total lag %d (err %v)", g.Group, g.State, members, g.Lag.Total(), g.Error())
		for _, l := range g.Lag.Sorted() {
			if l.Lag > 0 {
				t.Logf("  %s/%d: committed %d, end %d, lag %d, member %v", l.Topic, l.Partition, l.Commit.At, l.End.Offset, l.Lag, l.Member)
			}
		}
	}
}
