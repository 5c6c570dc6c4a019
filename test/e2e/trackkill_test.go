package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/flinkferry/flinkferry/internal/devproc"
	"github.com/flinkferry/flinkferry/internal/flinkrest"
	"github.com/flinkferry/flinkferry/internal/flinksim"
	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/internal/redisclient"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/ops"
)

const (
	// killShards is FLINKFERRY_TRACK_SHARDS of the track workers below,
	// and of the job store the test reads.
	killShards = 8
	// killSavepoint is how long the simulated JobManager takes to
	// complete a savepoint: long enough that the replacement worker
	// starts and takes the shard over while Flink still runs it.
	killSavepoint = 10 * time.Second
)

// TestTrackWorkerKilledMidSavepoint is issue 14's "the worker restarted in
// the middle of a savepoint (SIGKILL) finishes following the same trigger
// id and triggers nothing twice", with the real binary: `flinkferry worker
// track` process A (replica a) tracks a running application job (Kafka
// on kfake, redis-server, a real kube-apiserver holding the JobManager
// Deployment, the Flink REST simulator reached over HTTP) and triggers a
// savepoint of 10 s from a control request; A is SIGKILLed while Flink
// runs it. Process B (replica b) takes A's shard once the lease expires,
// follows the savepoint under the same trigger id and completes the
// operation. Flink received exactly one trigger (A's), took one savepoint,
// the operation's location; the job is RUNNING again, one
// savepoint_completed status event, one history entry. The same control
// request delivered again afterwards, consumed by B, changes nothing.
func TestTrackWorkerKilledMidSavepoint(t *testing.T) {
	k, r := testenv.Kafka(t), testenv.Redis(t)
	// A control plane of the test's own: kubetest.Shared needs the
	// package's TestMain to run kubetest.Run, which this one does not.
	cp := kubetest.Start(t, kubetest.Options{})
	cs := cp.Clientset()
	ctx := context.Background()

	const ns, id, jobID = "trackkill", "killed-mid-savepoint", "00000000000000000000000000000e14"
	kubetest.CreateNamespace(t, cs, ns)

	flink := startRecordedFlink(t)
	jm := flink.sim.AddCluster(id, flinksim.ClusterOptions{
		Application: true,
		Jobs: []flinksim.JobSpec{{ID: jobID, Script: flinksim.Script{{State: flinksim.Running}},
			Savepoints: flinksim.SavepointSpec{Duration: killSavepoint}}},
	})
	endpoint := flink.url + "/c/" + id
	rest := flinkrest.New(flinkrest.Options{RequestTimeout: 2 * time.Second})

	rdb, err := redisclient.New(ctx, redisclient.Config{URL: r.URL(), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	store, err := jobstore.New(rdb, jobstore.Options{Prefix: "ff:", Shards: killShards})
	if err != nil {
		t.Fatal(err)
	}
	topics := messages.DefaultTopics("flinkferry.")

	env := trackEnv(k, r, cp.KubeconfigPath(), ns)
	a := startTrackWorker(t, "a", env)

	ev := &messages.Deployed{
		RequestID: "req-" + id, Job: messages.JobRef{Namespace: ns, ClusterID: id}, Mode: messages.ModeApplication,
		FlinkJobID: jobID, Image: "registry.example.com/flinkferry/" + id + "@sha256:" + strings.Repeat("1", 64),
		RestEndpoint: endpoint, WebUIURL: endpoint + "/", Time: time.Now().UTC(),
	}
	key := ev.Job.Key()
	produceEvent(t, k, topics.Deployed, ev)
	// The JobManager Deployment only once the deployed event is
	// registered. A Deployment seen first is recovered from Kubernetes
	// without an endpoint (there is no rest Service here); the event then
	// fills it in Redis, but the tracker's refresh (workers/track/tracked.go)
	// reloads only jobs it does not hold, so a job already loaded stays
	// K8S_INITIALIZING, never polled, until something else writes it.
	waitStored(t, store, key, 30*time.Second, a, "registered with its REST endpoint", func(j *jobstore.Job) bool {
		return j.RestEndpoint == endpoint
	})
	runningJobManager(t, cs, ns, id, jobID)
	waitStored(t, store, key, 20*time.Second, a, "RUNNING", func(j *jobstore.Job) bool {
		return j.State == messages.StateRunning
	})

	req := &messages.ControlRequested{RequestID: "sp-" + id, Job: ev.Job, Operation: messages.OpSavepoint}
	trigger := flinkrest.TriggerID(req.RequestID)
	produceEvent(t, k, topics.Control, req)
	j := waitStored(t, store, key, 20*time.Second, a, "savepoint triggered", func(j *jobstore.Job) bool {
		return j.Op != nil && j.Op.RequestID == req.RequestID && j.Op.Phase == ops.Triggered
	})
	if got, want := j.Op.TriggerID, trigger; got != want {
		t.Errorf("recorded trigger id = %s, want flinkrest.TriggerID(%q) = %s", got, req.RequestID, want)
	}
	stats, err := rest.Checkpoints(ctx, endpoint, jobID)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Counts.InProgress != 1 || len(stats.History) == 0 || !stats.History[0].IsSavepoint || stats.History[0].Status != "IN_PROGRESS" {
		t.Fatalf("before the kill, Flink's checkpoints: counts %+v, history %+v; want one savepoint in progress", stats.Counts, stats.History)
	}
	if sps := jm.Savepoints(); len(sps) != 0 {
		t.Fatalf("before the kill, Flink has savepoints %v, want none yet", sps)
	}
	triggeredAt, triggers := flink.triggers(jobID)
	if len(triggers) != 1 || triggers[0] != trigger {
		t.Fatalf("savepoint triggers received by Flink before the kill: %q, want [%s]", triggers, trigger)
	}

	killed := kill(t, a)
	t.Logf("A SIGKILLed %s after Flink accepted trigger %s (state %s, phase %s)",
		killed.Sub(triggeredAt).Round(time.Millisecond), trigger, j.State, j.Op.Phase)
	b := startTrackWorker(t, "b", env)

	// B takes the job's shard over once A's lease expired, and reads the
	// savepoint's status under A's trigger id while Flink still runs it.
	shard := jobstore.ShardOf(key, killShards)
	var tookOver time.Duration
	waitFor(t, 30*time.Second, b, "B holds the lease of shard "+strconv.Itoa(shard), func() bool {
		v, err := rdb.Get(ctx, "ff:lease:"+strconv.Itoa(shard)).Result()
		if err == nil && len(v) > 22 && v[22:] == "b" { // 22-character token, then the replica id
			tookOver = time.Since(killed)
			return true
		}
		return false
	})
	var firstPoll time.Duration
	waitFor(t, 30*time.Second, b, "B polls trigger "+trigger, func() bool {
		if at, ok := flink.firstStatusAfter(jobID, trigger, killed); ok {
			firstPoll = at.Sub(killed)
			return true
		}
		return false
	})

	j = waitStored(t, store, key, 30*time.Second, b, "operation done, job RUNNING", func(j *jobstore.Job) bool {
		return j.Op != nil && j.Op.RequestID == req.RequestID && j.Op.Phase == ops.Done && j.State == messages.StateRunning
	})
	done := time.Since(killed)
	stats, err = rest.Checkpoints(ctx, endpoint, jobID)
	if err != nil {
		t.Fatal(err)
	}
	var flinkTook time.Duration
	if sp := stats.Latest.Savepoint; sp != nil {
		flinkTook = sp.EndToEndDuration
	}
	completedAt := triggeredAt.Add(flinkTook)
	t.Logf("kill -> B holds shard %d: %s; kill -> B's first status poll of %s: %s (Flink's savepoint was then %s from completion); "+
		"kill -> operation done: %s (Flink's savepoint took %s, done recorded %s after it completed)",
		shard, tookOver.Round(time.Millisecond), trigger, firstPoll.Round(time.Millisecond),
		completedAt.Sub(killed.Add(firstPoll)).Round(time.Millisecond),
		done.Round(time.Millisecond), flinkTook.Round(time.Millisecond), time.Since(completedAt).Round(time.Millisecond))
	if firstPoll >= completedAt.Sub(killed) {
		t.Errorf("B first polled the savepoint %s after the kill, after Flink completed it (%s after the kill): it did not follow it in progress",
			firstPoll, completedAt.Sub(killed))
	}

	sps := jm.Savepoints()
	if len(sps) != 1 || j.Op.Result != ops.Completed || j.Op.Location != sps[0] {
		t.Fatalf("operation %+v; Flink's savepoints %v, want completed at the one savepoint", *j.Op, sps)
	}
	if got, want := j.Op.TriggerID, trigger; got != want {
		t.Errorf("trigger id after B = %s, want %s", got, want)
	}
	if _, triggers := flink.triggers(jobID); len(triggers) != 1 {
		t.Errorf("savepoint triggers received by Flink: %q, want A's one", triggers)
	}
	if stats.Counts.Total != 1 || stats.Counts.Completed != 1 {
		t.Errorf("Flink's checkpoint counts %+v, want 1 triggered, 1 completed", stats.Counts)
	}
	hist, err := store.Savepoints(ctx, key, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].Path != sps[0] || hist[0].RequestID != req.RequestID {
		t.Errorf("savepoint history %+v, want the one savepoint of %s", hist, req.RequestID)
	}

	// The same request again, after it is done: B consumes it (its
	// group's committed offset passes it) and nothing changes.
	partition, offset := produceEvent(t, k, topics.Control, req)
	began := time.Now()
	waitFor(t, 45*time.Second, b, "B consumes the control request delivered again", func() bool {
		return committed(t, k, "flinkferry-track", topics.Control, partition) > offset
	})
	consumed := time.Since(began)
	time.Sleep(2 * time.Second) // ten operation rounds: room for a second savepoint
	again, err := store.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := opSummary(again.Op), opSummary(j.Op); got != want {
		t.Errorf("operation after the second delivery: %s, want unchanged %s", got, want)
	}
	if again.State != messages.StateRunning {
		t.Errorf("job after the second delivery: %s, want RUNNING", again.State)
	}
	if got := jm.Savepoints(); len(got) != 1 || got[0] != sps[0] {
		t.Errorf("Flink's savepoints after the second delivery: %v, want only %s", got, sps[0])
	}
	_, triggers = flink.triggers(jobID)
	if len(triggers) != 1 {
		t.Errorf("savepoint triggers received by Flink after the second delivery: %q, want A's one", triggers)
	}
	t.Logf("second delivery consumed by B %s after it was produced: operation %s, %d savepoint, %d trigger",
		consumed.Round(time.Millisecond), opSummary(again.Op), len(jm.Savepoints()), len(triggers))

	// One status event per step of the operation, whoever published it.
	var requested, completed int
	for _, c := range statusEvents(t, k, topics.Status, key) {
		if c.Operation == nil || c.Operation.RequestID != req.RequestID {
			continue
		}
		switch c.Reason {
		case "savepoint_requested":
			requested++
		case "savepoint_completed":
			completed++
			if c.SavepointPath != sps[0] {
				t.Errorf("savepoint_completed with path %q, want %q", c.SavepointPath, sps[0])
			}
		}
	}
	if requested != 1 || completed != 1 {
		t.Errorf("status events savepoint_requested %d, savepoint_completed %d; want 1 and 1", requested, completed)
	}
}

// opSummary is what a repeated request must leave unchanged of an operation.
func opSummary(op *ops.Op) string {
	if op == nil {
		return "none"
	}
	return fmt.Sprintf("%s %s %s %s trigger=%s location=%q", op.RequestID, op.Operation, op.Phase, op.Result, op.TriggerID, op.Location)
}

// runningJobManager creates what the submit worker and a kubelet would for
// an application cluster: the JobManager Deployment with Flink's labels
// and flinkferry's annotations, its pod running and ready, the Deployment
// available. Without it the worker would rightly decide, from Kubernetes
// alone (a round without a REST answer), that the job is gone.
func runningJobManager(t *testing.T, cs kubernetes.Interface, ns, id, jobID string) {
	t.Helper()
	ctx := context.Background()
	labels := map[string]string{"type": "flink-native-kubernetes", "app": id, "component": "jobmanager"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: id, Namespace: ns, Labels: labels, Annotations: map[string]string{
			"flinkferry.io/request-id": "req-" + id, "flinkferry.io/mode": string(messages.ModeApplication),
			"flinkferry.io/flink-job-id": jobID,
		}},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "flink-main-container", Image: "registry.example.com/flinkferry/" + id + "@sha256:" + strings.Repeat("1", 64),
				}}},
			},
		},
	}
	d, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kubetest.RunDeployment(ctx, cs, d); err != nil {
		t.Fatal(err)
	}
}

// trackEnv is the environment of the track workers: the scrubbed one plus
// README's variables for the peers, the group timings of
// testenv.WorkerCommon, and fast rounds (testing values).
func trackEnv(k *testenv.KafkaCluster, r testenv.RedisServer, kubeconfig, ns string) []string {
	return append(devproc.ScrubbedEnv(),
		"FLINKFERRY_KAFKA_BROKERS="+strings.Join(k.Brokers, ","),
		"FLINKFERRY_KAFKA_TOPIC_PREFIX=flinkferry.",
		"FLINKFERRY_KAFKA_CREATE_TOPICS=true",
		"FLINKFERRY_KAFKA_PARTITIONS="+strconv.Itoa(testenv.Partitions),
		"FLINKFERRY_KAFKA_REPLICATION_FACTOR=3",
		"FLINKFERRY_KAFKA_SESSION_TIMEOUT=6s",
		"FLINKFERRY_KAFKA_HEARTBEAT_INTERVAL=300ms",
		"FLINKFERRY_KAFKA_REBALANCE_TIMEOUT=10s",
		"FLINKFERRY_HANDLER_TIMEOUT=30s",
		"FLINKFERRY_HANDLER_MAX_RETRIES=3",
		"FLINKFERRY_HANDLER_RETRY_INITIAL_INTERVAL=50ms",
		"FLINKFERRY_HANDLER_RETRY_MAX_INTERVAL=1s",
		"FLINKFERRY_HANDLER_RETRY_MAX_ELAPSED=10s",
		"FLINKFERRY_LOG_LEVEL=info",
		"FLINKFERRY_LOG_FORMAT=text",
		"FLINKFERRY_REDIS_URL="+r.URL(),
		"FLINKFERRY_REDIS_TIMEOUT=2s",
		"FLINKFERRY_TRACK_KUBECONFIG="+kubeconfig,
		"FLINKFERRY_TRACK_NAMESPACES="+ns,
		"FLINKFERRY_TRACK_SHARDS="+strconv.Itoa(killShards),
		"FLINKFERRY_TRACK_LEASE_TTL=2s",
		"FLINKFERRY_TRACK_JOB_STATUS_INTERVAL=500ms",
		"FLINKFERRY_TRACK_CLUSTER_METRIC_INTERVAL=1s",
		"FLINKFERRY_TRACK_REQUEST_TIMEOUT=400ms",
		"FLINKFERRY_TRACK_OPERATION_INTERVAL=200ms",
		"FLINKFERRY_TRACK_OPERATION_TIMEOUT=1m",
		"FLINKFERRY_TRACK_RECOVERY_INTERVAL=1h",
	)
}

// startTrackWorker starts `flinkferry worker track` as replica id with env
// and a free ops port. It is killed at cleanup (and with the test
// binary); its output's tail goes to the test log when the test failed.
func startTrackWorker(t *testing.T, id string, env []string) *testenv.Proc {
	t.Helper()
	return testenv.StartProc(t, testenv.ProcOptions{
		Name: "track worker " + id, Dir: root, Bin: binary, Args: []string{"worker", "track"},
		Env: append(append([]string(nil), env...), "FLINKFERRY_TRACK_REPLICA_ID="+id,
			"FLINKFERRY_OPS_ADDR=127.0.0.1:"+strconv.Itoa(testenv.StablePort(t))),
	})
}

// kill SIGKILLs w, waits for it to die of it and returns when it did.
func kill(t *testing.T, w *testenv.Proc) time.Time {
	t.Helper()
	at, err := w.Kill()
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// recordedFlink is the Flink REST simulator behind a handler that records
// the savepoint triggers and status reads it serves.
type recordedFlink struct {
	sim *flinksim.Server
	url string

	mu   sync.Mutex
	reqs []flinkCall
}

// flinkCall is one savepoint request: a trigger (POST
// /jobs/{job}/savepoints with its triggerId) or a status read (GET
// /jobs/{job}/savepoints/{trigger}).
type flinkCall struct {
	at             time.Time
	trigger        bool
	job, triggerID string
}

// startRecordedFlink serves a simulator on a loopback port until cleanup;
// cluster N is at <url>/c/N.
func startRecordedFlink(t *testing.T) *recordedFlink {
	t.Helper()
	f := &recordedFlink{sim: flinksim.New(flinksim.ServerOptions{})}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		f.sim.Close() // releases handlers first, then the server closes
		srv.Close()
	})
	f.url = srv.URL
	return f
}

func (f *recordedFlink) serve(w http.ResponseWriter, r *http.Request) {
	// /c/<cluster>/jobs/<job>/savepoints[/<trigger>]
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) >= 5 && parts[0] == "c" && parts[2] == "jobs" && parts[4] == "savepoints" {
		call := flinkCall{at: time.Now(), job: parts[3]}
		switch {
		case r.Method == http.MethodPost && len(parts) == 5:
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			var req struct {
				TriggerID string `json:"triggerId"`
			}
			_ = json.Unmarshal(body, &req)
			call.trigger, call.triggerID = true, req.TriggerID
		case r.Method == http.MethodGet && len(parts) == 6:
			call.triggerID = parts[5]
		}
		if call.triggerID != "" || call.trigger {
			f.mu.Lock()
			f.reqs = append(f.reqs, call)
			f.mu.Unlock()
		}
	}
	f.sim.ServeHTTP(w, r)
}

// triggers returns the trigger ids of the savepoint triggers of job, in
// order, and when the first came.
func (f *recordedFlink) triggers(job string) (first time.Time, ids []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.reqs {
		if c.trigger && c.job == job {
			if len(ids) == 0 {
				first = c.at
			}
			ids = append(ids, c.triggerID)
		}
	}
	return first, ids
}

// firstStatusAfter returns when the savepoint status of trigger was first
// read after since.
func (f *recordedFlink) firstStatusAfter(job, trigger string, since time.Time) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.reqs {
		if !c.trigger && c.job == job && c.triggerID == trigger && c.at.After(since) {
			return c.at, true
		}
	}
	return time.Time{}, false
}

// produceEvent writes ev to topic as the producers do (messages.Encode,
// keyed by the job) and returns the record's partition and offset.
func produceEvent(t *testing.T, k *testenv.KafkaCluster, topic string, ev messages.Event) (int32, int64) {
	t.Helper()
	key, headers, value, err := messages.Encode(ev, messages.Envelope{Source: "e2e-test"})
	if err != nil {
		t.Fatal(err)
	}
	rec := &kgo.Record{Topic: topic, Key: []byte(key), Value: value}
	for hk, hv := range headers {
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: hk, Value: []byte(hv)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := k.Client(t).ProduceSync(ctx, rec).FirstErr(); err != nil {
		t.Fatalf("producing to %s: %v", topic, err)
	}
	return rec.Partition, rec.Offset
}

// committed returns group's committed offset of topic's partition, -1
// when none.
func committed(t *testing.T, k *testenv.KafkaCluster, group, topic string, partition int32) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	offsets, err := kadm.NewClient(k.Client(t)).FetchOffsets(ctx, group)
	if err != nil {
		return -1
	}
	if o, ok := offsets.Lookup(topic, partition); ok && o.Err == nil {
		return o.At
	}
	return -1
}

// statusEvents returns the job status changes of job key on the status
// topic, read from its start for 3 s.
func statusEvents(t *testing.T, k *testenv.KafkaCluster, topic, key string) []*messages.JobStatusChanged {
	t.Helper()
	var out []*messages.JobStatusChanged
	for _, rec := range k.Consume(t, topic, 1000, 3*time.Second) {
		hs := map[string]string{}
		for _, h := range rec.Headers {
			hs[h.Key] = string(h.Value)
		}
		ev, _, err := messages.DecodeMessage(hs, "", rec.Value)
		if err != nil {
			t.Fatalf("status record: %v", err)
		}
		if c, ok := ev.(*messages.JobStatusChanged); ok && c.Job.Key() == key {
			out = append(out, c)
		}
	}
	return out
}

// waitStored polls the job in Redis until ok, failing with its last state
// and operation when within passes or w exits.
func waitStored(t *testing.T, store *jobstore.Store, key string, within time.Duration, w *testenv.Proc, what string, ok func(*jobstore.Job) bool) *jobstore.Job {
	t.Helper()
	var last *jobstore.Job
	var lastErr error
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) && !w.Exited() {
		j, err := store.Get(context.Background(), key)
		if err == nil {
			last = j
			if ok(j) {
				return j
			}
		}
		lastErr = err
		time.Sleep(20 * time.Millisecond)
	}
	if w.Exited() {
		t.Fatalf("%s exited (%s) while waiting for %s", w.Name, w.ExitState(), what)
	}
	if last == nil {
		t.Fatalf("job %s: never in Redis (%v), want %s within %s", key, lastErr, what, within)
	}
	t.Fatalf("job %s: want %s within %s; state %s (reason %q, message %q), REST endpoint %q, version %d, operation %s",
		key, what, within, last.State, last.Reason, last.Message, last.RestEndpoint, last.Version, opSummary(last.Op))
	return nil
}

// waitFor polls cond until it holds, failing when within passes or w
// exits.
func waitFor(t *testing.T, within time.Duration, w *testenv.Proc, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if w.Exited() {
			t.Fatalf("%s exited (%s) while waiting until %s", w.Name, w.ExitState(), what)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
