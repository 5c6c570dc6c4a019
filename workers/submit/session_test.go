package submit

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/internal/flinkrest"
	"github.com/flinkferry/flinkferry/internal/flinksim"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
	buildworker "github.com/flinkferry/flinkferry/workers/build"
)

const sessionNS = "flink-jobs"

// sessionJar is a jar with a manifest, large enough to take several reads.
func sessionJar(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create("META-INF/MANIFEST.MF")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(w, "Manifest-Version: 1.0\r\nMain-Class: org.example.WordCount\r\n")
	w, err = zw.CreateHeader(&zip.FileHeader{Name: "org/example/WordCount.class", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write(bytes.Repeat([]byte("flinkferry session job "), 20_000))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// stageJar pushes jar to reg the way the build worker does for a session
// job (its own code, build.Builder with JarOnly), so the test proves the
// submit worker reads exactly what the build worker writes.
func stageJar(t testing.TB, reg testenv.Registry, jar []byte) *buildworker.Result {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	arts := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "wordcount.jar", time.Time{}, bytes.NewReader(jar))
	})}
	go func() { _ = arts.Serve(ln) }()
	defer arts.Close()
	var auth authn.Authenticator
	if reg.Username != "" {
		auth = &authn.Basic{Username: reg.Username, Password: reg.Password}
	}
	b := &buildworker.Builder{
		Fetcher:  &buildworker.Fetcher{AllowedHosts: []string{ln.Addr().String()}, MaxBytes: 64 << 20, Dir: t.TempDir()},
		Registry: &buildworker.Registry{Host: reg.Host, Namespace: "jobs", Auth: auth, Insecure: true},
		Encoding: buildworker.EncodingGzipStored,
		Metrics:  buildworker.NewMetrics(nil),
	}
	res, err := b.Build(context.Background(), buildworker.Request{
		Repo: "wordcount", Job: "/" + sessionNS + "/wordcount", JarOnly: true, JarURL: "http://" + ln.Addr().String() + "/wordcount.jar",
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// sessionEvent is the image built event of a session job submitted to
// session cluster "session".
func sessionEvent(res *buildworker.Result, requestID string, mod func(r *messages.SubmitRequested)) *messages.ImageBuilt {
	req := messages.SubmitRequested{
		RequestID: requestID,
		Job:       messages.JobRef{Namespace: sessionNS, ClusterID: "wordcount"},
		Mode:      messages.ModeSession, SessionClusterID: "session",
		Flink: messages.FlinkOptions{Version: "1.19", Parallelism: 2, DynamicOptions: []string{"-Dexecution.checkpointing.interval=10s"}},
		Program: &messages.Program{
			Jar:       messages.Jar{URL: "https://artifacts.example.com/wordcount.jar"},
			MainClass: "org.example.WordCount", Args: []string{"--input", "s3://in", "two words"},
			Savepoint: &messages.Savepoint{Path: "s3://savepoints/sp-1", AllowNonRestoredState: true, RestoreMode: messages.RestoreNoClaim},
		},
		Labels: map[string]string{"team": "data"},
	}
	if mod != nil {
		mod(&req)
	}
	return &messages.ImageBuilt{
		RequestID: req.RequestID, Job: req.Job, Mode: req.Mode, JarArtifact: res.JarArtifact, JarName: res.JarName,
		JarSHA256: res.JarSHA256, Labels: req.Labels, Time: time.Now().UTC(), Request: req,
	}
}

// startSim serves a simulator with a session cluster named "session".
func startSim(t testing.TB, opts flinksim.ClusterOptions) (*flinksim.Server, *flinksim.Cluster) {
	t.Helper()
	s := flinksim.New(flinksim.ServerOptions{Seed: 1})
	if _, err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, s.AddCluster("session", opts)
}

// simEndpoint resolves session clusters to the simulator.
func simEndpoint(s *flinksim.Server) SessionEndpointFunc {
	return func(ctx context.Context, cl *kubeclusters.Cluster, job messages.JobRef) (string, error) {
		return s.ClusterURL(job.ClusterID), nil
	}
}

func sessionClusters() *kubeclusters.Set {
	cs := &kubeclusters.Set{}
	cs.Add(kubeclusters.Config{Name: "default", Default: true, AllowedNamespaces: []string{sessionNS}, AllowedServiceAccounts: []string{"default"}}, nil)
	return cs
}

func produceEvent(t testing.TB, k *testenv.KafkaCluster, topic string, ev messages.Event) {
	t.Helper()
	key, headers, value, err := messages.Encode(ev, messages.Envelope{Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	k.Produce(t, topic, key, value, headers)
}

func decodeDeployed(t testing.TB, k *testenv.KafkaCluster, topic string, n int) []*messages.Deployed {
	t.Helper()
	recs := k.Consume(t, topic, n, 60*time.Second)
	if len(recs) != n {
		t.Fatalf("%s: %d records, want %d", topic, len(recs), n)
	}
	var out []*messages.Deployed
	for _, r := range recs {
		ev, _, err := messages.DecodeMessage(headerMap(r), "", r.Value)
		if err != nil {
			t.Fatal(err)
		}
		d, ok := ev.(*messages.Deployed)
		if !ok {
			t.Fatalf("%s: %T, want deployed", topic, ev)
		}
		out = append(out, d)
	}
	return out
}

// TestSessionJobEndToEnd: a session job's image built travels through the
// submit worker to deployed; the session cluster runs exactly one job with
// the request's Flink job id, the jar's bytes and the request's options.
// The same event delivered again changes nothing: no second upload, no
// second run, the same deployed.
func TestSessionJobEndToEnd(t *testing.T) {
	k := testenv.Kafka(t)
	reg := testenv.InProcessRegistry(t)
	jar := sessionJar(t)
	res := stageJar(t, reg, jar)
	s, jm := startSim(t, flinksim.ClusterOptions{})
	cfg := Config{Common: k.WorkerCommon(), Submit: SubmitConfig{PolicyVars: kubeclusters.PolicyVars{AllowedNamespaces: []string{sessionNS}, AllowedServiceAccounts: []string{"default"}}, Registry: reg.Host, RegistryInsecure: true}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	testenv.RunWorker(t, SpecWith(cfg, Overrides{Clusters: sessionClusters(), SessionEndpoint: simEndpoint(s)}))
	topics := cfg.Kafka.Topics()

	ev := sessionEvent(res, "req-session-1", nil)
	jobID := ev.Request.FlinkJobID()
	produceEvent(t, k, topics.ImageBuilt, ev)
	dep := decodeDeployed(t, k, topics.Deployed, 1)[0]
	if dep.Mode != messages.ModeSession || dep.FlinkJobID != jobID || dep.SessionClusterID != "session" || dep.Job != ev.Job ||
		dep.RestEndpoint != s.ClusterURL("session") || dep.WebUIURL != s.ClusterURL("session")+"/" || dep.Labels["team"] != "data" {
		t.Errorf("deployed = %+v", dep)
	}
	jobs := jm.Jobs()
	if len(jobs) != 1 || jobs[0].ID() != jobID {
		t.Fatalf("session cluster jobs = %d (first %v), want exactly %s", len(jobs), jobs, jobID)
	}
	sub, _ := jobs[0].Submission()
	if sub.EntryClass != "org.example.WordCount" || strings.Join(sub.ProgramArgsList, "|") != "--input|s3://in|two words" ||
		sub.Parallelism == nil || *sub.Parallelism != 2 || sub.SavepointPath != "s3://savepoints/sp-1" ||
		sub.AllowNonRestoredState == nil || !*sub.AllowNonRestoredState || sub.RestoreMode != "NO_CLAIM" ||
		sub.FlinkConfiguration["execution.checkpointing.interval"] != "10s" || sub.FlinkConfiguration["pipeline.name"] != "wordcount" {
		t.Errorf("the session cluster received %+v", sub)
	}
	if got := jobs[0].Name(); got != "wordcount" {
		t.Errorf("job name = %q, want job.cluster_id", got)
	}
	jars := jm.Jars()
	if len(jars) != 1 || jars[0].SHA256 != sha256Hex(jar) || jars[0].Name != res.JarName || jars[0].EntryClass != "org.example.WordCount" {
		t.Errorf("uploaded jars = %+v, want one with the jar's bytes (sha256 %s)", jars, sha256Hex(jar))
	}

	// Redelivery: the job exists, nothing is uploaded or run again.
	produceEvent(t, k, topics.ImageBuilt, ev)
	again := decodeDeployed(t, k, topics.Deployed, 2)[1]
	if again.FlinkJobID != jobID || again.RestEndpoint != dep.RestEndpoint {
		t.Errorf("second deployed = %+v", again)
	}
	if n, j := len(jm.Jobs()), len(jm.Jars()); n != 1 || j != 1 {
		t.Errorf("after redelivery: %d jobs and %d uploads, want 1 and 1", n, j)
	}
}

// TestSessionJobConcurrentDeliveryWins: when another delivery runs the
// job between this one's lookup and run, Flink refuses the duplicate id
// with 400 and the handler finds the job: deployed, one job.
func TestSessionJobConcurrentDeliveryWins(t *testing.T) {
	reg := testenv.InProcessRegistry(t)
	res := stageJar(t, reg, sessionJar(t))
	var jm *flinksim.Cluster
	s, jm := startSim(t, flinksim.ClusterOptions{OnSubmit: func(req flinksim.JarRunRequest) (flinksim.JobSpec, error) {
		jm.AddJob(flinksim.JobSpec{ID: req.JobID, Name: "the other delivery"}) // the concurrent run lands first
		return flinksim.JobSpec{}, nil
	}})
	h := &Handler{Clusters: sessionClusters(), Topics: messages.DefaultTopics("flinkferry."), SessionEndpoint: simEndpoint(s),
		Config: SubmitConfig{Registry: reg.Host, RegistryInsecure: true}}
	ev := sessionEvent(res, "req-race", nil)
	outs, err := h.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := outs[0].Event.(*messages.Deployed); !ok || d.FlinkJobID != ev.Request.FlinkJobID() || d.JarArtifact != ev.JarArtifact || d.Request == nil {
		t.Fatalf("output = %#v, want deployed", outs[0].Event)
	}
	if jobs := jm.Jobs(); len(jobs) != 1 || jobs[0].Name() != "the other delivery" {
		t.Errorf("jobs = %v, want only the concurrent delivery's", jobs)
	}
}

// TestSessionClusterUnreachableIsRetried: a session cluster that is gone
// (the API server's service proxy answers 503: no endpoints) and, once
// back, resets the jar upload's connection is retried by the bus until it
// answers; one job results.
func TestSessionClusterUnreachableIsRetried(t *testing.T) {
	k := testenv.Kafka(t)
	reg := testenv.InProcessRegistry(t)
	res := stageJar(t, reg, sessionJar(t))
	s, _ := startSim(t, flinksim.ClusterOptions{})
	s.RemoveCluster("session")
	var mu sync.Mutex
	var back *flinksim.Cluster
	resolutions := 0
	endpoint := func(ctx context.Context, cl *kubeclusters.Cluster, job messages.JobRef) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if resolutions++; resolutions == 2 { // the second attempt finds it back
			back = s.AddCluster("session", flinksim.ClusterOptions{})
			back.InjectFault(flinksim.Fault{Kind: flinksim.FaultReset, Method: http.MethodPost, Path: "/jars/upload", Times: 1})
		}
		return s.ClusterURL(job.ClusterID), nil
	}
	cfg := Config{Common: k.WorkerCommon(), Submit: SubmitConfig{PolicyVars: kubeclusters.PolicyVars{AllowedNamespaces: []string{sessionNS}}, Registry: reg.Host, RegistryInsecure: true}}
	testenv.RunWorker(t, SpecWith(cfg, Overrides{Clusters: sessionClusters(), SessionEndpoint: endpoint}))
	topics := cfg.Kafka.Topics()

	ev := sessionEvent(res, "req-retried", nil)
	produceEvent(t, k, topics.ImageBuilt, ev)
	dep := decodeDeployed(t, k, topics.Deployed, 1)[0]
	if dep.FlinkJobID != ev.Request.FlinkJobID() {
		t.Errorf("deployed = %+v", dep)
	}
	mu.Lock()
	defer mu.Unlock()
	if resolutions != 3 || back == nil {
		t.Fatalf("%d attempts, want 3 (vanished, reset upload, success)", resolutions)
	}
	if jobs, jars := len(back.Jobs()), len(back.Jars()); jobs != 1 || jars != 1 {
		t.Errorf("jobs = %d, jars = %d; want 1 and 1 (the reset upload never arrived)", jobs, jars)
	}

	// With nothing listening at all, the error is transient too.
	h := &Handler{Clusters: sessionClusters(), Topics: topics, Config: cfg.Submit,
		SessionEndpoint: func(context.Context, *kubeclusters.Cluster, messages.JobRef) (string, error) {
			return "http://127.0.0.1:1", nil
		}}
	if _, err := h.Handle(context.Background(), sessionEvent(res, "req-down", nil)); err == nil || failure.IsPermanent(err) {
		t.Errorf("Handle(unreachable) error = %v, want a transient error", err)
	}
}

// TestSessionJobRefused: Flink refusing the run (a main class that does
// not exist) is a permanent deploy failed with Flink's reason; the jar
// is deleted again (best effort) and no job exists.
func TestSessionJobRefused(t *testing.T) {
	reg := testenv.InProcessRegistry(t)
	res := stageJar(t, reg, sessionJar(t))
	s, jm := startSim(t, flinksim.ClusterOptions{OnSubmit: func(req flinksim.JarRunRequest) (flinksim.JobSpec, error) {
		if req.EntryClass != "org.example.WordCount" {
			return flinksim.JobSpec{}, errors.New("java.lang.ClassNotFoundException: " + req.EntryClass)
		}
		return flinksim.JobSpec{}, nil
	}})
	h := &Handler{Clusters: sessionClusters(), Topics: messages.DefaultTopics("flinkferry."), SessionEndpoint: simEndpoint(s),
		Config: SubmitConfig{Registry: reg.Host, RegistryInsecure: true}}
	ev := sessionEvent(res, "req-bad-class", func(r *messages.SubmitRequested) { r.Program.MainClass = "org.example.Missing" })
	outs, err := h.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	f, ok := outs[0].Event.(*messages.DeployFailed)
	if !ok || f.Reason != messages.DeployReasonJobSubmissionRefused || !strings.Contains(f.Message, "ClassNotFoundException: org.example.Missing") {
		t.Fatalf("output = %#v, want deploy failed %s with Flink's reason", outs[0].Event, messages.DeployReasonJobSubmissionRefused)
	}
	if err := f.Validate(); err != nil {
		t.Errorf("deploy failed does not validate: %v", err)
	}
	// The control topic too: the track worker ends a restart whose new
	// run this was (workers/track/handback.go).
	if got := outs[0].Topics; len(got) != 2 || got[0] != "flinkferry.status" || got[1] != "flinkferry.control" {
		t.Errorf("topics = %v, want the status and control topics", got)
	}
	if n := len(jm.Jobs()); n != 0 {
		t.Errorf("jobs = %d, want 0", n)
	}

	// A jar artifact that is not in the registry is permanent too.
	missing := *res
	missing.JarArtifact = res.JarArtifact[:strings.LastIndex(res.JarArtifact, ":")+1] + strings.Repeat("0", 64)
	outs, err = h.Handle(context.Background(), sessionEvent(&missing, "req-missing-jar", nil))
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := outs[0].Event.(*messages.DeployFailed); !ok || f.Reason != messages.DeployReasonBadJarArtifact {
		t.Errorf("missing artifact: output = %#v, want deploy failed %s", outs[0].Event, messages.DeployReasonBadJarArtifact)
	}
}

// TestSessionJobFromDockerRegistryWithAuth: the jar comes from Debian's
// docker-registry with htpasswd authentication, with the credentials of
// FLINKFERRY_SUBMIT_REGISTRY_*; wrong ones are a permanent
// registry_auth_refused whose message holds no password.
func TestSessionJobFromDockerRegistryWithAuth(t *testing.T) {
	k := testenv.Kafka(t)
	reg := testenv.DockerRegistry(t)
	jar := sessionJar(t)
	res := stageJar(t, reg, jar)
	s, jm := startSim(t, flinksim.ClusterOptions{})
	cfg := Config{Common: k.WorkerCommon(), Submit: SubmitConfig{PolicyVars: kubeclusters.PolicyVars{AllowedNamespaces: []string{sessionNS}}, Registry: reg.Host, RegistryInsecure: true,
		RegistryUsername: reg.Username, RegistryPassword: reg.Password}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	testenv.RunWorker(t, SpecWith(cfg, Overrides{Clusters: sessionClusters(), SessionEndpoint: simEndpoint(s)}))
	topics := cfg.Kafka.Topics()
	produceEvent(t, k, topics.ImageBuilt, sessionEvent(res, "req-auth", nil))
	decodeDeployed(t, k, topics.Deployed, 1)
	if jars := jm.Jars(); len(jars) != 1 || jars[0].SHA256 != sha256Hex(jar) || len(jm.Jobs()) != 1 {
		t.Errorf("jars = %+v, jobs = %d; want the jar's bytes and one job", jars, len(jm.Jobs()))
	}

	for _, tt := range []struct {
		name string
		cfg  SubmitConfig
	}{
		{"wrong password", SubmitConfig{Registry: reg.Host, RegistryInsecure: true, RegistryUsername: reg.Username, RegistryPassword: "wrong-" + reg.Password}},
		{"no credentials", SubmitConfig{Registry: reg.Host, RegistryInsecure: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := &Handler{Clusters: sessionClusters(), Topics: topics, SessionEndpoint: simEndpoint(s), Config: tt.cfg}
			outs, err := h.Handle(context.Background(), sessionEvent(res, "req-"+strings.ReplaceAll(tt.name, " ", "-"), nil))
			if err != nil {
				t.Fatal(err)
			}
			f, ok := outs[0].Event.(*messages.DeployFailed)
			if !ok || f.Reason != messages.DeployReasonRegistryAuthRefused {
				t.Fatalf("output = %#v, want deploy failed %s", outs[0].Event, messages.DeployReasonRegistryAuthRefused)
			}
			if strings.Contains(f.Message, reg.Password) {
				t.Errorf("the message leaks the password: %s", f.Message)
			}
		})
	}
}

// TestKubeSessionEndpoint resolves session clusters on the real API
// server: a missing one is a permanent session_cluster_not_found (also
// through the handler), a deployed one resolves by its Service's type.
func TestKubeSessionEndpoint(t *testing.T) {
	cp := kubetest.Shared(t)
	cs := cp.Clientset()
	ctx := context.Background()
	ns := "session-endpoints"
	kubetest.CreateNamespace(t, cs, ns)
	cl := &kubeclusters.Cluster{Config: kubeclusters.Config{Name: "default", Default: true, RestAccess: kubeclusters.RestAccessAuto, AllowedNamespaces: []string{ns}}, Kube: cs}

	_, err := KubeSessionEndpoint(ctx, cl, messages.JobRef{Namespace: ns, ClusterID: "nosession"})
	if !failure.IsPermanent(err) || failure.Reason(err) != messages.DeployReasonSessionClusterNotFound {
		t.Errorf("missing session cluster: %v (%s), want permanent %s", err, failure.Reason(err), messages.DeployReasonSessionClusterNotFound)
	}

	for _, tt := range []struct {
		id   string
		typ  messages.RestExposedType
		want string
	}{
		{"shared", messages.RestClusterIP, "http://shared-rest." + ns + ":8081"},
		{"headless", messages.RestHeadlessClusterIP, "http://headless-rest." + ns + ":8081"},
	} {
		sc := imageBuilt(messages.ModeSessionCluster, func(r *messages.SubmitRequested) {
			r.Job = messages.JobRef{Namespace: ns, ClusterID: tt.id}
			r.Kubernetes.RestExposedType = tt.typ
		})
		if _, err := Apply(ctx, cs, build(t, sc)); err != nil {
			t.Fatal(err)
		}
		if got, err := KubeSessionEndpoint(ctx, cl, messages.JobRef{Namespace: ns, ClusterID: tt.id}); err != nil || got != tt.want {
			t.Errorf("KubeSessionEndpoint(%s) = %q, %v; want %q", tt.id, got, err, tt.want)
		}
	}

	clusters := &kubeclusters.Set{}
	clusters.Add(cl.Config, cs)
	h := &Handler{Clusters: clusters, Topics: messages.DefaultTopics("flinkferry.")}
	ev := sessionEvent(&buildworker.Result{JarArtifact: "registry.example.com/jobs/wordcount@sha256:" + strings.Repeat("a", 64), JarName: "wordcount.jar", JarSHA256: strings.Repeat("b", 64)},
		"req-no-session", func(r *messages.SubmitRequested) {
			r.Job.Namespace = ns
			r.SessionClusterID = "nosession"
		})
	outs, err := h.Handle(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := outs[0].Event.(*messages.DeployFailed); !ok || f.Reason != messages.DeployReasonSessionClusterNotFound || !strings.Contains(f.Message, "nosession") {
		t.Errorf("output = %#v, want deploy failed %s", outs[0].Event, messages.DeployReasonSessionClusterNotFound)
	}
}

func TestClassifyFlinkErrors(t *testing.T) {
	for _, tt := range []struct {
		name      string
		err       error
		permanent bool
	}{
		{"400 from Flink", &flinkrest.Error{StatusCode: 400, Errors: []string{"Could not execute application."}}, true},
		{"404 from Flink", &flinkrest.Error{StatusCode: 404, Errors: []string{"Not found: /jars/upload"}}, true},
		{"404 from a proxy", &flinkrest.Error{StatusCode: 404, NotFlink: true}, false},
		{"503", &flinkrest.Error{StatusCode: 503, NotFlink: true}, false},
		{"429", &flinkrest.Error{StatusCode: 429}, false},
		{"undecodable", &flinkrest.DecodeError{StatusCode: 200, Err: errors.New("unexpected end of JSON input")}, false},
		{"timeout", &flinkrest.RequestError{Err: context.DeadlineExceeded}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := classifyFlink(tt.err, "running")
			if got := failure.IsPermanent(err); got != tt.permanent {
				t.Errorf("IsPermanent(classifyFlink(%v)) = %v, want %v", tt.err, got, tt.permanent)
			}
			if tt.permanent && failure.Reason(err) != messages.DeployReasonJobSubmissionRefused {
				t.Errorf("reason = %s, want %s", failure.Reason(err), messages.DeployReasonJobSubmissionRefused)
			}
		})
	}
}

func TestRegistryConfigValidation(t *testing.T) {
	base := Config{Common: testenv.Kafka(t).WorkerCommon(), Submit: SubmitConfig{PolicyVars: kubeclusters.PolicyVars{AllowedNamespaces: []string{"*"}}}}
	for _, tt := range []struct {
		name string
		mod  func(c *SubmitConfig)
		want string
	}{
		{"password without user", func(c *SubmitConfig) { c.Registry, c.RegistryPassword = "r.example.com", "hunter2" }, "go together"},
		{"credentials without registry", func(c *SubmitConfig) { c.RegistryUsername, c.RegistryPassword = "u", "hunter2" }, "need REGISTRY"},
		{"registry with a path", func(c *SubmitConfig) { c.Registry = "r.example.com/ns" }, "host[:port]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.mod(&c.Submit)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("Validate() leaks the password: %v", err)
			}
		})
	}
}

// TestSessionJobThroughServiceProxy submits a session job through the
// real API server's service proxy (restAccess service-proxy): the REST
// client carries the API server's credentials, the endpoint is resolved
// from the session cluster's Service, and the jar and run reach the
// JobManager behind it. The API server refuses to proxy to loopback
// addresses, so the simulator listens on this machine's first
// non-loopback IPv4 address.
func TestSessionJobThroughServiceProxy(t *testing.T) {
	ip := hostIPv4(t)
	reg := testenv.InProcessRegistry(t)
	jar := sessionJar(t)
	res := stageJar(t, reg, jar)
	sim := flinksim.New(flinksim.ServerOptions{Default: "session", Seed: 1})
	jm := sim.AddCluster("session", flinksim.ClusterOptions{})
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: sim}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close(); _ = sim.Close() })
	port := int32(ln.Addr().(*net.TCPAddr).Port)

	cp := kubetest.Shared(t)
	cs := cp.Clientset()
	ctx := context.Background()
	ns := "session-proxy"
	kubetest.CreateNamespace(t, cs, ns)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "session-rest", Namespace: ns},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "rest", Port: 8081, TargetPort: intstr.FromInt32(port)}}},
	}
	if _, err := cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The API server proxies only to endpoints that are pods with that IP.
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "session-jobmanager", Namespace: ns},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "flink-main-container", Image: "flink:1.19"}}},
	}
	// Without the service account controller, "default" must be made for
	// the ServiceAccount admission plugin to accept the pod.
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns}}
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if pod, err = cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}}
	if _, err := cs.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "session-rest-1", Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: "session-rest"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{ip},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: pod.Name, UID: pod.UID}}},
		Ports: []discoveryv1.EndpointPort{{Name: ptr("rest"), Port: &port}},
	}
	if _, err := cs.DiscoveryV1().EndpointSlices(ns).Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	clusters := &kubeclusters.Set{}
	clusters.Add(kubeclusters.Config{Name: "default", Default: true, RestAccess: kubeclusters.RestAccessProxy, APIServer: cp.Host(), AllowedNamespaces: []string{ns}}, cs)
	h := &Handler{Clusters: clusters, Topics: messages.DefaultTopics("flinkferry."), Config: SubmitConfig{Registry: reg.Host, RegistryInsecure: true}}
	ev := sessionEvent(res, "req-proxy", func(r *messages.SubmitRequested) { r.Job.Namespace = ns })
	// The API server sees the new EndpointSlice through its informer: a
	// transient 503 until then, which the bus would retry.
	var outs []bus.Out
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if outs, err = h.Handle(ctx, ev); err == nil || failure.IsPermanent(err) || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	dep, ok := outs[0].Event.(*messages.Deployed)
	if !ok {
		t.Fatalf("output = %#v, want deployed", outs[0].Event)
	}
	if want := cp.Host() + "/api/v1/namespaces/" + ns + "/services/session-rest:rest/proxy"; dep.RestEndpoint != want {
		t.Errorf("rest endpoint = %s, want %s", dep.RestEndpoint, want)
	}
	jobs, jars := jm.Jobs(), jm.Jars()
	if len(jobs) != 1 || jobs[0].ID() != ev.Request.FlinkJobID() || len(jars) != 1 || jars[0].SHA256 != sha256Hex(jar) {
		t.Errorf("behind the proxy: jobs %v, jars %+v; want one job and the jar's bytes", jobs, jars)
	}
}

// hostIPv4 returns the first non-loopback IPv4 address of this machine.
func hostIPv4(t testing.TB) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	t.Fatal("this machine has no non-loopback IPv4 address for the API server to proxy to")
	return ""
}

func ptr[T any](v T) *T { return &v }
