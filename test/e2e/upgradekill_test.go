package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/flinkferry/flinkferry/cmd/flinkferry/dev"
	"github.com/flinkferry/flinkferry/internal/devproc"
	"github.com/flinkferry/flinkferry/internal/flinksim"
	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/internal/redisclient"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/ops"
)

// upgradeShards is FLINKFERRY_TRACK_SHARDS of the workers below and of
// the job store the test reads.
const upgradeShards = 8

// simRecorder is the Flink REST simulator behind the workers' HTTP proxy:
// every JobManager URL (http://<cluster-id>-rest.<namespace>:8081) reaches
// it, and it records the savepoint triggers (stop-with-savepoint and
// savepoint) it serves.
type simRecorder struct {
	sim *flinksim.Server
	// other is the second control plane's simulator (a move's stack):
	// a JobManager it runs is reached there, any other on sim.
	other *flinksim.Server

	mu       sync.Mutex
	triggers map[string][]string // Flink job id -> trigger ids, in order
}

func (s *simRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// /jobs/<job>/stop or /jobs/<job>/savepoints
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if r.Method == http.MethodPost && len(parts) == 3 && parts[0] == "jobs" && (parts[2] == "stop" || parts[2] == "savepoints") {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var req struct {
			TriggerID string `json:"triggerId"`
		}
		_ = json.Unmarshal(body, &req)
		s.mu.Lock()
		s.triggers[parts[1]] = append(s.triggers[parts[1]], req.TriggerID)
		s.mu.Unlock()
	}
	if name, _, _ := strings.Cut(r.Host, "."); s.other != nil && s.other.Cluster(name) != nil {
		s.other.ServeHTTP(w, r)
		return
	}
	s.sim.ServeHTTP(w, r)
}

// triggersOf returns the trigger ids of job's savepoint triggers.
func (s *simRecorder) triggersOf(job string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.triggers[job]...)
}

// upgradeStack is the dev stack's peers in the test process (kfake,
// redis, registry, artifact server, a kube-apiserver with the kubelet
// simulation and the Flink REST simulator) and the three workers as
// `flinkferry worker` processes.
type upgradeStack struct {
	env  *dev.Env
	kube *dev.Kube
	// kubeB is the second control plane of a move's stack (Kubernetes
	// cluster "b"; kube is "a", the default); nil otherwise.
	kubeB *dev.Kube
	rec   *simRecorder
	store *jobstore.Store
	// envs are the workers' environments by kind.
	envs map[string][]string
	// procs are the running worker processes by kind.
	procs map[string]*testenv.Proc
	n     int
	// root is the test the stack lives as long as (processes started in
	// a subtest outlive it).
	root *testing.T
}

func startUpgradeStack(t *testing.T) *upgradeStack {
	t.Helper()
	return startStack(t, false)
}

// startStack starts the upgrade stack; with two, a second control plane
// (with its kubelet simulation and Flink simulator) and a clusters file
// naming both, "a" (the default) and "b", for every worker.
func startStack(t *testing.T, two bool) *upgradeStack {
	t.Helper()
	testenv.LookPath(t, "redis-server")
	if !kubetest.Available() {
		t.Fatal("kube-apiserver/etcd binaries missing: run `bash hack/k8s-testbin/build.sh` (see internal/kubetest)")
	}
	ctx := context.Background()
	env, err := dev.Start(ctx, dev.Options{NoState: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	kube, err := dev.StartKube(ctx, dev.KubeOptions{StartDelay: 500 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kube.Close)
	rec := &simRecorder{sim: kube.Sim, triggers: map[string][]string{}}
	// Each worker's Kubernetes settings: one cluster, or a clusters file.
	kubeEnv := map[string][]string{
		"build":  {"FLINKFERRY_BUILD_ALLOWED_NAMESPACES=" + dev.Namespace},
		"submit": {"FLINKFERRY_SUBMIT_KUBECONFIG=" + kube.Kubeconfig, "FLINKFERRY_SUBMIT_ALLOWED_NAMESPACES=" + dev.Namespace},
		"track":  {"FLINKFERRY_TRACK_KUBECONFIG=" + kube.Kubeconfig, "FLINKFERRY_TRACK_NAMESPACES=" + dev.Namespace},
	}
	var kubeB *dev.Kube
	if two {
		if kubeB, err = dev.StartKube(ctx, dev.KubeOptions{StartDelay: 500 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(kubeB.Close)
		rec.other = kubeB.Sim
		file := filepath.Join(t.TempDir(), "clusters.yaml")
		clusters := fmt.Sprintf("clusters:\n- {name: a, default: true, kubeconfig: %q, allowedNamespaces: [%s]}\n- {name: b, kubeconfig: %q, allowedNamespaces: [%s]}\n",
			kube.Kubeconfig, dev.Namespace, kubeB.Kubeconfig, dev.Namespace)
		if err := os.WriteFile(file, []byte(clusters), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, kind := range []string{"build", "submit", "track"} {
			kubeEnv[kind] = []string{"FLINKFERRY_" + strings.ToUpper(kind) + "_CLUSTERS_FILE=" + file}
		}
	}
	proxy := httptest.NewServer(rec)
	t.Cleanup(proxy.Close)

	rdb, err := redisclient.New(ctx, redisclient.Config{URL: env.RedisURL, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	store, err := jobstore.New(rdb, jobstore.Options{Prefix: "ff:", Shards: upgradeShards})
	if err != nil {
		t.Fatal(err)
	}

	au, err := url.Parse(env.ArtifactsURL)
	if err != nil {
		t.Fatal(err)
	}
	var base []string
	for _, kv := range devproc.ScrubbedEnv() {
		if k, _, _ := strings.Cut(kv, "="); !strings.HasSuffix(strings.ToUpper(k), "_PROXY") {
			base = append(base, kv)
		}
	}
	base = append(base,
		// Every JobManager URL is a cluster DNS name: through the proxy,
		// it reaches the simulator (loopback peers are never proxied).
		"HTTP_PROXY="+proxy.URL, "http_proxy="+proxy.URL,
		"FLINKFERRY_KAFKA_BROKERS="+strings.Join(env.KafkaBrokers, ","),
		"FLINKFERRY_KAFKA_TOPIC_PREFIX="+dev.TopicPrefix,
		"FLINKFERRY_KAFKA_CREATE_TOPICS=true",
		"FLINKFERRY_KAFKA_PARTITIONS="+strconv.Itoa(testenv.Partitions),
		"FLINKFERRY_KAFKA_REPLICATION_FACTOR=1",
		"FLINKFERRY_KAFKA_SESSION_TIMEOUT=6s",
		"FLINKFERRY_KAFKA_HEARTBEAT_INTERVAL=300ms",
		"FLINKFERRY_KAFKA_REBALANCE_TIMEOUT=10s",
		"FLINKFERRY_HANDLER_TIMEOUT=30s",
		"FLINKFERRY_HANDLER_MAX_RETRIES=20",
		"FLINKFERRY_HANDLER_RETRY_INITIAL_INTERVAL=100ms",
		"FLINKFERRY_HANDLER_RETRY_MAX_INTERVAL=1s",
		"FLINKFERRY_HANDLER_RETRY_MAX_ELAPSED=20s",
		"FLINKFERRY_LOG_LEVEL=info",
		"FLINKFERRY_LOG_FORMAT=text",
	)
	redis := []string{"FLINKFERRY_REDIS_URL=" + env.RedisURL, "FLINKFERRY_REDIS_TIMEOUT=2s"}
	with := func(kv ...string) []string { return append(append([]string(nil), base...), kv...) }
	s := &upgradeStack{root: t, env: env, kube: kube, kubeB: kubeB, rec: rec, store: store, procs: map[string]*testenv.Proc{}, envs: map[string][]string{
		"build": with(append(append(redis, kubeEnv["build"]...),
			"FLINKFERRY_BUILD_REGISTRY="+env.Registry, "FLINKFERRY_BUILD_REGISTRY_INSECURE=true",
			"FLINKFERRY_BUILD_DEFAULT_BASE_IMAGE="+env.BaseImage(), "FLINKFERRY_BUILD_ARTIFACT_ALLOWED_HOSTS="+au.Host,
			"FLINKFERRY_BUILD_REQUEST_HASHES=true")...),
		"submit": with(append(kubeEnv["submit"],
			"FLINKFERRY_SUBMIT_REGISTRY="+env.Registry, "FLINKFERRY_SUBMIT_REGISTRY_INSECURE=true")...),
		"track": with(append(append(redis, kubeEnv["track"]...),
			"FLINKFERRY_TRACK_SHARDS="+strconv.Itoa(upgradeShards),
			"FLINKFERRY_TRACK_LEASE_TTL=2s",
			"FLINKFERRY_TRACK_JOB_STATUS_INTERVAL=500ms",
			"FLINKFERRY_TRACK_CLUSTER_METRIC_INTERVAL=1s",
			"FLINKFERRY_TRACK_REQUEST_TIMEOUT=400ms",
			"FLINKFERRY_TRACK_OPERATION_INTERVAL=200ms",
			"FLINKFERRY_TRACK_OPERATION_TIMEOUT=2m")...),
	}}
	for _, kind := range []string{"build", "submit", "track"} {
		s.start(t, kind)
	}
	return s
}

// start starts a `flinkferry worker <kind>` process (a new replica id
// each time), killed at cleanup; its output's tail is logged when the
// test failed.
func (s *upgradeStack) start(t *testing.T, kind string) {
	t.Helper()
	s.n++
	id := fmt.Sprintf("%s-%d", kind, s.n)
	env := append(append([]string(nil), s.envs[kind]...), "FLINKFERRY_OPS_ADDR=127.0.0.1:"+strconv.Itoa(testenv.StablePort(t)))
	if kind == "track" {
		env = append(env, "FLINKFERRY_TRACK_REPLICA_ID="+id)
	}
	// Killed at the end of the whole test, not of the step that started it.
	w := testenv.StartProc(s.root, testenv.ProcOptions{Name: kind + " worker " + id, Dir: root, Bin: binary,
		Args: []string{"worker", kind}, Env: env})
	s.procs[kind] = w
}

// killAndRestart SIGKILLs the track and submit workers and starts new
// ones.
func (s *upgradeStack) killAndRestart(t *testing.T) {
	t.Helper()
	for _, kind := range []string{"track", "submit"} {
		kill(t, s.procs[kind])
	}
	for _, kind := range []string{"track", "submit"} {
		s.start(t, kind)
	}
}

// waitJob polls the job until ok, failing when within passes or the
// track worker exits.
func (s *upgradeStack) waitJob(t *testing.T, key string, within time.Duration, what string, ok func(*jobstore.Job) bool) *jobstore.Job {
	t.Helper()
	return waitStored(t, s.store, key, within, s.procs["track"], what, ok)
}

// produce writes a plain JSON submit request keyed by the job.
func (s *upgradeStack) produce(t *testing.T, key string, value []byte) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.env.KafkaBrokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: dev.TopicPrefix + "submit", Key: []byte(key), Value: value}).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// statusEvent is a job status change with its CloudEvents id.
// checkOperationSteps checks that evs hold one requested, one in-progress
// and one completed step of operation requestID (what names it in errors).
func checkOperationSteps(t *testing.T, evs []statusEvent, requestID, what string) {
	t.Helper()
	for _, want := range []messages.OperationStatus{messages.OperationRequested, messages.OperationInProgress, messages.OperationCompleted} {
		n := 0
		for _, e := range evs {
			if o := e.ev.Operation; o != nil && o.RequestID == requestID && o.Status == want {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d %s steps of the %s, want 1", n, want, what)
		}
	}
}

type statusEvent struct {
	id string
	ev *messages.JobStatusChanged
}

// jobStatusEvents returns the job status changes of job key on the status
// topic, read from its start for 3 s, one per CloudEvents id (a record
// published again under its id is the same event).
func (s *upgradeStack) jobStatusEvents(t *testing.T, key string) []statusEvent {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.env.KafkaBrokers...), kgo.ConsumeTopics(dev.TopicPrefix+"status"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var out []statusEvent
	seen := map[string]bool{}
	for ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			hs := map[string]string{}
			for _, h := range r.Headers {
				hs[h.Key] = string(h.Value)
			}
			ev, _, err := messages.DecodeMessage(hs, messages.TypeJobStatusChanged, r.Value)
			c, ok := ev.(*messages.JobStatusChanged)
			if err != nil || !ok || c.JobKey() != key || seen[hs["ce_id"]] {
				return
			}
			seen[hs["ce_id"]] = true
			out = append(out, statusEvent{id: hs["ce_id"], ev: c})
		})
	}
	return out
}

// watchDeployments records the uid of every Deployment named name created
// in the dev namespace until cleanup.
func (s *upgradeStack) watchDeployments(t *testing.T, name string) func() []types.UID {
	t.Helper()
	return watchDeploymentsIn(t, s.kube.Client, name)
}

// watchDeploymentsIn is watchDeployments in the cluster of cs.
func watchDeploymentsIn(t *testing.T, cs kubernetes.Interface, name string) func() []types.UID {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := cs.AppsV1().Deployments(dev.Namespace).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var uids []types.UID
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range w.ResultChan() {
			if d, ok := e.Object.(metav1.Object); ok && e.Type == watch.Added {
				mu.Lock()
				uids = append(uids, d.GetUID())
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { cancel(); w.Stop(); <-done })
	return func() []types.UID {
		mu.Lock()
		defer mu.Unlock()
		return append([]types.UID(nil), uids...)
	}
}

// killStep is a step of an upgrade after which the workers are killed.
type killStep struct {
	name string
	// reached reports whether the upgrade got there (the job, and whether
	// the old run's Deployment is gone).
	reached func(j *jobstore.Job, oldGone, newDeployed bool) bool
}

var killSteps = []killStep{
	{"requested", func(j *jobstore.Job, _, _ bool) bool {
		return j.Op != nil && j.Op.Operation == messages.OpUpgrade
	}},
	{"savepoint-triggered", func(j *jobstore.Job, _, _ bool) bool {
		return j.Op != nil && j.Op.Operation == messages.OpUpgrade && j.Op.Phase == ops.Triggered
	}},
	{"savepoint-completed", func(j *jobstore.Job, _, _ bool) bool {
		return j.Op != nil && j.Op.Operation == messages.OpUpgrade && j.Op.Location != "" && j.Op.Phase != ops.Triggered && j.Op.Phase != ops.Requested
	}},
	{"cleanup", func(j *jobstore.Job, oldGone, _ bool) bool {
		return j.Op != nil && j.Op.Operation == messages.OpUpgrade && oldGone
	}},
	{"handed-over", func(j *jobstore.Job, _, _ bool) bool {
		return j.Op != nil && j.Op.Operation == messages.OpUpgrade && j.Op.Phase == ops.Done
	}},
	{"new-deployment", func(_ *jobstore.Job, _, newDeployed bool) bool {
		return newDeployed
	}},
}

// TestUpgradeKilledAtEachStep is issue 15's "the worker SIGKILLed at each
// step of an upgrade: the upgrade completes once, with exactly one
// savepoint and one new deployment", with the real binary: the build,
// submit and track workers run as `flinkferry worker` processes against
// the dev stack's peers (kfake, redis-server, the registry, a real
// kube-apiserver with the kubelet simulation, the Flink REST simulator
// behind their HTTP proxy). For each step (upgrade recorded, savepoint
// triggered, savepoint completed, old cluster removed, new run handed to
// the submit worker, new Deployment created) a job of its own runs, is
// upgraded in mode savepoint, and the track and submit workers are
// SIGKILLed as soon as the upgrade reached the step, then started again.
// Each time: one savepoint trigger id sent to Flink and one savepoint
// taken, the history's one upgrade entry; the Deployment created twice in
// all (the old run's and the new run's, applied once: generation 1), the
// new run RUNNING restoring from that savepoint; one status event (one
// CloudEvents id) per step.
func TestUpgradeKilledAtEachStep(t *testing.T) {
	s := startUpgradeStack(t)
	ctx := context.Background()
	for i, step := range killSteps {
		ok := t.Run(step.name, func(t *testing.T) {
			id := fmt.Sprintf("uk%d", i)
			key := messages.JobRef{Namespace: dev.Namespace, ClusterID: id}.Key()
			deployments := s.watchDeployments(t, id)
			s.produce(t, dev.Namespace+"/"+id, dev.DemoRequest(id, s.env.JarURL()))
			old := s.waitJob(t, key, 90*time.Second, "RUNNING", func(j *jobstore.Job) bool { return j.State == messages.StateRunning })
			oldCluster := s.kube.Sim.Cluster(id + "-rest")
			if oldCluster == nil || oldCluster.Job(old.FlinkJobID) == nil {
				t.Fatalf("no simulated JobManager runs job %s", old.FlinkJobID)
			}
			oldCluster.Job(old.FlinkJobID).SetSavepointDuration(3 * time.Second)
			oldDep, err := s.kube.Client.AppsV1().Deployments(dev.Namespace).Get(ctx, id, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}

			v2 := "dev-demo-" + id + "-v2"
			req := strings.Replace(string(dev.DemoRequest(id, s.env.JarURL())), `"dev-demo-`+id+`"`, `"`+v2+`"`, 1)
			req = strings.Replace(req, `"parallelism": 1`, `"parallelism": 2`, 1)
			s.produce(t, dev.Namespace+"/"+id, []byte(req))

			var at *jobstore.Job
			deadline := time.Now().Add(90 * time.Second)
			for at == nil {
				if time.Now().After(deadline) {
					t.Fatalf("the upgrade did not reach step %s within 90s", step.name)
				}
				j, err := s.store.Get(ctx, key)
				d, derr := s.kube.Client.AppsV1().Deployments(dev.Namespace).Get(ctx, id, metav1.GetOptions{})
				oldGone := apierrors.IsNotFound(derr) || (derr == nil && d.UID != oldDep.UID)
				newDeployed := derr == nil && d.Annotations["flinkferry.io/request-id"] == v2
				if err == nil && step.reached(j, oldGone, newDeployed) {
					at = j
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			s.killAndRestart(t)
			t.Logf("killed at %s: job %s run %s, operation %s", step.name, at.State, at.RequestID, opSummary(at.Op))

			j := s.waitJob(t, key, 120*time.Second, "the upgraded run RUNNING", func(j *jobstore.Job) bool {
				return j.RequestID == v2 && j.State == messages.StateRunning
			})
			if j.Op == nil || j.Op.RequestID != v2 || j.Op.Result != ops.Completed {
				t.Fatalf("operation %s, want the completed upgrade %s", opSummary(j.Op), v2)
			}

			// One savepoint: one trigger id sent, one taken, one history entry.
			triggers := s.rec.triggersOf(old.FlinkJobID)
			distinct := map[string]bool{}
			for _, tr := range triggers {
				distinct[tr] = true
			}
			taken := oldCluster.Savepoints()
			sps, err := s.store.Savepoints(ctx, key, 10)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d trigger requests (%d trigger ids), savepoints taken %v, history %d", len(triggers), len(distinct), taken, len(sps))
			if len(distinct) != 1 || len(taken) != 1 {
				t.Errorf("savepoint triggers %q, savepoints taken %v: want one trigger id and one savepoint", triggers, taken)
			}
			if len(sps) != 1 || sps[0].Trigger != jobstore.TriggerUpgrade || len(taken) != 1 || sps[0].Path != taken[0] {
				t.Errorf("savepoint history %+v, want the one upgrade savepoint %v", sps, taken)
			}

			// One new Deployment, applied once, restoring from the savepoint.
			d, err := s.kube.Client.AppsV1().Deployments(dev.Namespace).Get(ctx, id, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if uids := deployments(); len(uids) != 2 || uids[0] != oldDep.UID || uids[1] != d.UID {
				t.Errorf("Deployments %s created: %v, want the old run's %s and one new one (now %s)", id, uids, oldDep.UID, d.UID)
			}
			if d.Generation != 1 || d.Annotations["flinkferry.io/request-id"] != v2 {
				t.Errorf("new Deployment: generation %d, request %s; want generation 1 (applied once) of %s", d.Generation, d.Annotations["flinkferry.io/request-id"], v2)
			}
			cm, err := s.kube.Client.CoreV1().ConfigMaps(dev.Namespace).Get(ctx, "flink-config-"+id, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if conf := cm.Data["config.yaml"] + cm.Data["flink-conf.yaml"]; len(taken) != 1 || !strings.Contains(conf, "execution.savepoint.path: "+taken[0]+"\n") {
				t.Errorf("the new run does not restore from the savepoint %v:\n%s", taken, conf)
			}

			// One event per step.
			var evs []statusEvent
			for range 10 {
				evs = s.jobStatusEvents(t, key)
				if n := len(evs); n > 0 && evs[n-1].ev.RequestID == v2 && evs[n-1].ev.To == messages.StateRunning {
					break
				}
			}
			steps, lines := map[string]int{}, ""
			for _, e := range evs {
				k := fmt.Sprintf("%s %s -> %s (%s)", e.ev.RequestID, e.ev.From, e.ev.To, e.ev.Reason)
				if o := e.ev.Operation; o != nil {
					k += fmt.Sprintf(" [%s %s %s]", o.Operation, o.RequestID, o.Status)
				}
				steps[k]++
				lines += "  " + e.id + " " + k + "\n"
			}
			for k, n := range steps {
				if n != 1 {
					t.Errorf("%d events for step %q, want 1", n, k)
				}
			}
			checkOperationSteps(t, evs, v2, "upgrade")
			if t.Failed() {
				t.Logf("status events of %s:\n%s", key, lines)
			}
		})
		if !ok {
			return
		}
	}
}
