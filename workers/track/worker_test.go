package track

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/flinkferry/flinkferry/internal/flinksim"
	"github.com/flinkferry/flinkferry/internal/flinksim/simtest"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/internal/ops"
	"github.com/flinkferry/flinkferry/internal/redisclient"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

func TestMain(m *testing.M) {
	testenv.MainFunc(func() int { return kubetest.Run(m, kubetest.Options{}) })
}

// fastTrack is a track configuration for tests: half-second polls,
// short leases and silence.
func fastTrack(replica string, namespaces ...string) TrackConfig {
	return TrackConfig{
		JobStatusInterval: 500 * time.Millisecond, ClusterMetricInterval: time.Second,
		JobStatusTimeout: 30 * time.Second, ClusterMetricTimeout: 5 * time.Second,
		SilentStateKeep: 3 * time.Second, RequestTimeout: 400 * time.Millisecond, Concurrency: 32,
		Namespaces: namespaces, RestAccess: kubeclusters.RestAccessAuto, KubeQPS: 50, KubeBurst: 100,
		Shards: 8, LeaseTTL: 2 * time.Second, ReplicaID: replica,
		RedisPrefix: "ff:", TerminalRetention: time.Hour, RecoveryInterval: time.Hour,
		OperationTimeout: time.Minute, SavepointsMaxCount: 3, SavepointsMaxAge: time.Hour, OperationInterval: 200 * time.Millisecond,
	}
}

// fastConfig is a whole worker configuration around fastTrack.
func fastConfig(k *testenv.KafkaCluster, r testenv.RedisServer, replica string, namespaces ...string) Config {
	return Config{
		Common: k.WorkerCommon(),
		Redis:  redisclient.Config{URL: r.URL(), Timeout: 2 * time.Second},
		Track:  fastTrack(replica, namespaces...),
	}
}

// flinkCluster creates what the submit worker and the kubelet would for an
// application cluster: the JobManager Deployment with Flink's labels and
// flinkferry's annotations.
func flinkCluster(t *testing.T, cs kubernetes.Interface, ns, id, jobID string) *appsv1.Deployment {
	t.Helper()
	labels := map[string]string{labelType: labelTypeValue, labelApp: id, labelComponent: componentJM}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: id, Namespace: ns, Labels: labels, Annotations: map[string]string{
			annotationRequest: "req-" + id, annotationMode: string(messages.ModeApplication), annotationFlinkJob: jobID,
		}},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "flink-main-container", Image: "registry.example.com/flinkferry/" + id + "@sha256:" + fmt.Sprintf("%064d", 1),
				}}},
			},
		},
	}
	d, err := cs.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func deployed(ns, id, jobID, endpoint string) *messages.Deployed {
	return &messages.Deployed{
		RequestID: "req-" + id, Job: messages.JobRef{Namespace: ns, ClusterID: id}, Mode: messages.ModeApplication,
		FlinkJobID: jobID, Image: "registry.example.com/flinkferry/" + id + "@sha256:" + fmt.Sprintf("%064d", 1),
		RestEndpoint: endpoint, WebUIURL: endpoint + "/", Time: time.Now().UTC(),
	}
}

// startSim starts a Flink REST simulator that answers for every
// JobManager at its cluster DNS name (http://<id>-rest.<namespace>:8081,
// simulator cluster "<id>-rest"), and the HTTP client that reaches it.
func startSim(t *testing.T) (*flinksim.Server, *http.Client) {
	t.Helper()
	return simtest.HostRouted(t, 64)
}

// restURL is the REST endpoint the submit worker reports for a ClusterIP
// rest Service.
func restURL(ns, id string) string {
	return fmt.Sprintf("http://%s.%s:%d", kubeclusters.RestServiceName(id), ns, kubeclusters.RestPort)
}

func produce(t *testing.T, k *testenv.KafkaCluster, topic string, ev messages.Event) {
	t.Helper()
	key, headers, value, err := messages.Encode(ev, messages.Envelope{Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	k.Produce(t, topic, key, value, headers)
}

// waitState waits until the job's state in Redis is want and returns it.
func waitState(t *testing.T, store *jobstore.Store, key string, want messages.JobState, within time.Duration) *jobstore.Job {
	t.Helper()
	deadline := time.Now().Add(within)
	var last *jobstore.Job
	for time.Now().Before(deadline) {
		j, err := store.Get(context.Background(), key)
		if err == nil {
			last = j
			if j.State == want {
				return j
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if last == nil {
		t.Fatalf("job %s: never registered, want %s", key, want)
	}
	t.Fatalf("job %s: state %s (reason %q, message %q), want %s within %s", key, last.State, last.Reason, last.Message, want, within)
	return nil
}

// statusChanges decodes the job status changed events of the status topic.
func statusChanges(t *testing.T, recs []*kgo.Record) []*messages.JobStatusChanged {
	t.Helper()
	var out []*messages.JobStatusChanged
	for _, r := range recs {
		hs := map[string]string{}
		for _, h := range r.Headers {
			hs[h.Key] = string(h.Value)
		}
		ev, _, err := messages.DecodeMessage(hs, "", r.Value)
		if err != nil {
			t.Fatalf("status record: %v", err)
		}
		if c, ok := ev.(*messages.JobStatusChanged); ok {
			out = append(out, c)
		}
	}
	return out
}

func newStore(t *testing.T, r testenv.RedisServer, shards int) *jobstore.Store {
	t.Helper()
	rdb, err := redisclient.New(context.Background(), redisclient.Config{URL: r.URL(), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	s, err := jobstore.New(rdb, jobstore.Options{Prefix: "ff:", Shards: shards})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestTrackApplicationJobEndToEnd follows one application job through the
// real peers: deployed on Kafka, JobManager Deployment and pod on the real
// API server, Flink REST on the simulator, states in Redis, one status
// event per transition on Kafka.
func TestTrackApplicationJobEndToEnd(t *testing.T) {
	k, r, cp := testenv.Kafka(t), testenv.Redis(t), kubetest.Shared(t)
	ns := "track-e2e"
	cs := cp.Clientset()
	kubetest.CreateNamespace(t, cs, ns)
	sim, hc := startSim(t)

	cfg := fastConfig(k, r, "r1", ns)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	clusters := &kubeclusters.Set{}
	clusters.Add(kubeclusters.Config{Name: "default", Default: true, AllowedNamespaces: []string{ns}}, cs)
	spec := Spec(cfg, Overrides{Clusters: clusters, HTTPClient: hc})
	spec.Ops = ops.New(slog.New(slog.DiscardHandler))
	testenv.RunWorker(t, spec)
	store := newStore(t, r, cfg.Track.Shards)
	topics := cfg.Kafka.Topics()
	ctx := context.Background()

	const jobID = "0123456789abcdef0123456789abcdef"
	ev := deployed(ns, "wordcount", jobID, restURL(ns, "wordcount"))
	key := ev.Job.Key()
	produce(t, k, topics.Deployed, ev)
	produce(t, k, topics.Deployed, ev) // a redelivery changes nothing
	waitState(t, store, key, messages.StateStarting, 20*time.Second)

	// The Deployment exists, its pod pulls the image: K8S_INITIALIZING, never failed.
	d := flinkCluster(t, cs, ns, "wordcount", jobID)
	pod, err := kubetest.CreatePodFor(ctx, cs, d, corev1.PodPending, []corev1.ContainerStatus{{
		Name: "flink-main-container", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, store, key, messages.StateK8sInitializing, 10*time.Second)

	// The JobManager is up and runs the job.
	if err := kubetest.SetPodRunning(ctx, cs, ns, pod.Name); err != nil {
		t.Fatal(err)
	}
	if err := kubetest.SetDeploymentAvailable(ctx, cs, ns, "wordcount", 1); err != nil {
		t.Fatal(err)
	}
	jm := sim.AddCluster("wordcount-rest", flinksim.ClusterOptions{
		Application: true, TaskManagers: 2, SlotsPerTaskManager: 3,
		Jobs: []flinksim.JobSpec{{ID: jobID, Script: flinksim.Script{{State: flinksim.Running}},
			Checkpoints: flinksim.CheckpointSpec{Interval: 100 * time.Millisecond}}},
	})
	j := waitState(t, store, key, messages.StateRunning, 10*time.Second)
	if j.WebUIURL != ev.WebUIURL || j.FlinkJobID != jobID {
		t.Errorf("job = %+v", j)
	}

	// Metrics and checkpoints follow on the metric interval.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if j, _ = store.Get(ctx, key); j.Metrics.TaskManagers == 2 && j.Checkpoints.Completed > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if j.Metrics.TaskManagers != 2 || j.Metrics.SlotsTotal != 6 || j.Checkpoints.Completed == 0 || j.LastPoll.IsZero() {
		t.Errorf("metrics = %+v, checkpoints = %+v, last poll %v", j.Metrics, j.Checkpoints, j.LastPoll)
	}

	// The worker's metrics say what it did.
	families, err := spec.Ops.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range families {
		seen[f.GetName()] = true
	}
	for _, name := range []string{"flinkferry_track_jobs", "flinkferry_track_poll_duration_seconds",
		"flinkferry_track_staleness_seconds", "flinkferry_track_owned_shards", "flinkferry_track_transitions_total", "flinkferry_track_status_events_published_total"} {
		if !seen[name] {
			t.Errorf("metric %s not exported", name)
		}
	}

	// The job finishes; then the cluster goes away. FINISHED stays
	// (StreamPark #2950 showed FAILED).
	jm.Job(jobID).SetState(flinksim.Finished)
	waitState(t, store, key, messages.StateFinished, 10*time.Second)
	if err := cs.AppsV1().Deployments(ns).Delete(ctx, "wordcount", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	sim.RemoveCluster("wordcount-rest")
	time.Sleep(2 * time.Second)
	if j, _ := store.Get(ctx, key); j.State != messages.StateFinished {
		t.Errorf("after the cluster went away: state %s, want FINISHED", j.State)
	}

	// Exactly one event per transition, in order.
	var got []string
	for _, c := range statusChanges(t, k.Consume(t, topics.Status, 5, 5*time.Second)) {
		if c.Job.Key() == key {
			got = append(got, string(c.From)+">"+string(c.To))
		}
	}
	want := []string{">STARTING", "STARTING>K8S_INITIALIZING", "K8S_INITIALIZING>RUNNING", "RUNNING>FINISHED"}
	if !slices.Equal(got, want) {
		t.Errorf("status events = %v, want %v", got, want)
	}
}
