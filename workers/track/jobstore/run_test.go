package jobstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flinkferry/flinkferry/messages"
)

// withRequest adds the redeploy inputs of an application run to d: the
// request it deployed, valid as the submit worker sends it, and the jar.
func withRequest(d *messages.Deployed, mainClass string) *messages.Deployed {
	d.Request = &messages.SubmitRequested{
		RequestID: d.RequestID, Job: d.Job, Mode: d.Mode,
		Flink: messages.FlinkOptions{
			Version: "1.20", BaseImage: "flink:1.20-java17", Parallelism: 2,
			DynamicOptions: []string{"-Dstate.checkpoints.dir=s3://bucket/checkpoints", "-Dpipeline.name=wordcount"},
			TaskManager:    messages.TaskManagerResources{Memory: "1728m", Slots: 2},
		},
		Kubernetes: messages.KubernetesOptions{ServiceAccount: "flink"},
		Program: &messages.Program{
			Jar:       messages.Jar{URL: "https://artifacts.example.com/jobs/wordcount-1.0.jar"},
			MainClass: mainClass, Args: []string{"--input", "s3://bucket/in"},
			Savepoint: &messages.Savepoint{Path: "s3://bucket/savepoints/savepoint-1", RestoreMode: messages.RestoreNoClaim},
		},
		Labels: d.Labels,
	}
	d.JarName = "wordcount-1.0.jar"
	d.JarArtifact = "registry.example.com/flinkferry/jars/wordcount@sha256:" + strings.Repeat("b", 64)
	return d
}

// snapshot is dump with the lines of every value sorted (dump writes a
// hash's fields in map order).
func snapshot(t *testing.T, rdb redis.UniversalClient) map[string]string {
	t.Helper()
	out := dump(t, rdb)
	for k, v := range out {
		lines := strings.Split(v, "\n")
		slices.Sort(lines)
		out[k] = strings.Join(lines, "\n")
	}
	return out
}

func run(t testing.TB, s *Store, key string) *Run {
	t.Helper()
	r, err := s.Run(context.Background(), key)
	if err != nil {
		t.Fatalf("Run(%s) = %v", key, err)
	}
	return r
}

// runFieldsOf returns the run_* fields of the job's hash.
func runFieldsOf(t testing.TB, rdb redis.UniversalClient, s *Store, key string) []string {
	t.Helper()
	var out []string
	for f := range rdb.HGetAll(context.Background(), s.k.job(key)).Val() {
		if strings.HasPrefix(f, "run_") {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

func TestRunKeepsTheRedeployInputs(t *testing.T) {
	rdb := client(t)
	s := newStore(t, rdb, Options{})
	d := withRequest(deployed("ns", "job", "req-1", t0), "com.example.WordCount")
	if err := d.Validate(); err != nil {
		t.Fatalf("test event is invalid: %v", err)
	}
	key := d.Job.Key()
	register(t, s, d, t0)

	r := run(t, s, key)
	want := &Run{
		Key: key, Job: d.Job, Mode: d.Mode, RequestID: "req-1", FlinkJobID: d.FlinkJobID, Image: d.Image,
		JarName: d.JarName, JarArtifact: d.JarArtifact, Labels: d.Labels, DeployedAt: t0, Request: d.Request,
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("Run() = %+v\nwant    %+v", r, want)
	}
	if r.Request == d.Request {
		t.Error("Run() returned the caller's request, not the stored one")
	}
	// Compact JSON, as encoding/json writes it.
	raw := rdb.HGet(context.Background(), s.k.job(key), fRunRequest).Val()
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(raw)); err != nil || compact.String() != raw {
		t.Errorf("run_request = %q, want compact JSON", raw)
	}
	if _, err := s.Run(context.Background(), "/ns/missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Run(missing) = %v, want ErrNotFound", err)
	}
}

func TestRunFollowsTheRegisteredRun(t *testing.T) {
	rdb := client(t)
	s := newStore(t, rdb, Options{})
	ctx := context.Background()
	d1 := withRequest(deployed("ns", "job", "req-1", t0), "com.example.V1")
	key := d1.Job.Key()
	register(t, s, d1, t0)
	before := snapshot(t, rdb)

	// A redelivery and a stale run change nothing.
	if got := register(t, s, d1, t0.Add(time.Minute)).Outcome; got != Duplicate {
		t.Fatalf("redelivery = %s, want duplicate", got)
	}
	stale := withRequest(deployed("ns", "job", "req-0", t0.Add(-time.Hour)), "com.example.V0")
	if got := register(t, s, stale, t0.Add(time.Minute)).Outcome; got != Stale {
		t.Fatalf("older run = %s, want stale", got)
	}
	if after := snapshot(t, rdb); !reflect.DeepEqual(after, before) {
		t.Errorf("a redelivery changed Redis:\nbefore %v\nafter  %v", before, after)
	}

	// A new run replaces them.
	d2 := withRequest(deployed("ns", "job", "req-2", t0.Add(time.Hour)), "com.example.V2")
	d2.JarName = "wordcount-2.0.jar"
	d2.Request.Program.Savepoint = nil
	if got := register(t, s, d2, t0.Add(time.Hour)).Outcome; got != Resubmitted {
		t.Fatalf("new run = %s, want resubmitted", got)
	}
	r := run(t, s, key)
	if r.RequestID != "req-2" || !reflect.DeepEqual(r.Request, d2.Request) || r.JarName != "wordcount-2.0.jar" || !r.DeployedAt.Equal(d2.Time) {
		t.Errorf("Run() after a new run = %+v", r)
	}

	// A run without them clears them.
	d3 := deployed("ns", "job", "req-3", t0.Add(2*time.Hour))
	register(t, s, d3, t0.Add(2*time.Hour))
	r = run(t, s, key)
	if r.RequestID != "req-3" || r.Request != nil || r.JarName != "" || r.JarArtifact != "" || r.Redacted != nil || r.Image != d3.Image {
		t.Errorf("Run() after a run without inputs = %+v", r)
	}
	if got := runFieldsOf(t, rdb, s, key); len(got) != 0 {
		t.Errorf("hash keeps %v after a run without them", got)
	}
	if j, err := s.Get(ctx, key); err != nil || j.RequestID != "req-3" {
		t.Errorf("Get() = %+v, %v", j, err)
	}
}

// A job recovered from Kubernetes (no request) gets its inputs from the
// deployed event of the same run, once, without a new version.
func TestDuplicateAddsMissingInputs(t *testing.T) {
	rdb := client(t)
	s := newStore(t, rdb, Options{})
	recovered := deployed("ns", "job", "req-1", t0)
	key := recovered.Job.Key()
	register(t, s, recovered, t0)

	d := withRequest(deployed("ns", "job", "req-1", t0), "com.example.WordCount")
	res := register(t, s, d, t0.Add(time.Minute))
	if res.Outcome != Duplicate || res.Version != 1 {
		t.Fatalf("Register(same run with inputs) = %+v, want duplicate at version 1", res)
	}
	if r := run(t, s, key); !reflect.DeepEqual(r.Request, d.Request) || r.JarName != d.JarName || r.JarArtifact != d.JarArtifact {
		t.Errorf("Run() = %+v, want the inputs added", r)
	}
	before := snapshot(t, rdb)
	other := withRequest(deployed("ns", "job", "req-1", t0), "com.example.Other")
	register(t, s, other, t0.Add(2*time.Minute))
	register(t, s, recovered, t0.Add(2*time.Minute))
	if after := snapshot(t, rdb); !reflect.DeepEqual(after, before) {
		t.Errorf("a duplicate replaced stored inputs:\nbefore %v\nafter  %v", before, after)
	}
}

// recorder records the text (command and reply) of every command a
// client runs.
type recorder struct {
	mu   sync.Mutex
	cmds []string
}

func (r *recorder) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *recorder) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		r.add(cmd)
		return err
	}
}

func (r *recorder) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, c := range cmds {
			r.add(c)
		}
		return err
	}
}

func (r *recorder) add(c redis.Cmder) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cmds = append(r.cmds, c.String())
}

// Get, GetMany and List never read the request: it stays in Redis.
func TestJobReadsLeaveTheRequestInRedis(t *testing.T) {
	rdb := client(t)
	s := newStore(t, rdb, Options{})
	ctx := context.Background()
	d := withRequest(deployed("ns", "job", "req-1", t0), "com.example.MarkerMainClass")
	register(t, s, d, t0)
	plain := deployed("ns", "plain", "req-1", t0)
	plain.RestEndpoint, plain.WebUIURL, plain.Image = d.RestEndpoint, d.WebUIURL, d.Image
	register(t, s, plain, t0)

	rec := &recorder{}
	rdb.AddHook(rec)
	j := get(t, s, d.Job.Key())
	js, err := s.GetMany(ctx, []string{d.Job.Key(), plain.Job.Key()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.List(ctx, Filter{}); err != nil {
		t.Fatal(err)
	}
	if len(rec.cmds) == 0 {
		t.Fatal("no command recorded")
	}
	for _, c := range rec.cmds {
		if strings.Contains(c, "MarkerMainClass") || strings.Contains(c, "run_") {
			t.Errorf("a job read carried the request: %.200s", c)
		}
	}
	// The job reads the same with or without inputs.
	j.Key, j.Job, js[1].Key, js[1].Job = "", messages.JobRef{}, "", messages.JobRef{}
	j.Shard, js[1].Shard = 0, 0
	if !reflect.DeepEqual(j, js[1]) {
		t.Errorf("Get() with inputs = %+v\nwithout = %+v", j, js[1])
	}
}

func TestRunRefusesACorruptRequest(t *testing.T) {
	rdb := client(t)
	s := newStore(t, rdb, Options{})
	d := withRequest(deployed("ns", "job", "req-1", t0), "com.example.WordCount")
	register(t, s, d, t0)
	rdb.HSet(context.Background(), s.k.job(d.Job.Key()), fRunRequest, "{not json")
	if _, err := s.Run(context.Background(), d.Job.Key()); err == nil || !strings.Contains(err.Error(), fRunRequest) {
		t.Errorf("Run(corrupt request) = %v, want an error naming %s", err, fRunRequest)
	}
	if _, err := s.Get(context.Background(), d.Job.Key()); err != nil {
		t.Errorf("Get() = %v: a corrupt request broke the job", err)
	}
}

func TestStoredRequestHasNoSecrets(t *testing.T) {
	d := withRequest(deployed("ns", "job", "req-1", t0), "com.example.WordCount")
	in := d.Request
	in.Program.Jar.URL = "https://user:pw@artifacts.example.com/wordcount.jar?X-Amz-Signature=sig#frag"
	in.Program.Args = []string{"--db", "jdbc:postgresql://app:pw@db:5432/x", "--plain"}
	in.Program.Savepoint.Path = "s3://key:pw@bucket/sp-1"
	in.Flink.DynamicOptions = []string{
		"-Ds3.access-key=AKIA", "-Ds3.secret-key=pw", "-Dpassword.file=/x", "-Dsecurity.kerberos.login.keytab=/k",
		"-Dmetrics.reporter.prom.token=pw", "-Dpipeline.name=x", "-Dstate.checkpoints.dir=s3://key:pw@bucket/chk",
	}
	in.Kubernetes.PodTemplate = "spec:\n  initContainers:\n  - args: [\"curl https://u:pw@h/x\"]\n"
	orig := *in.Program

	got, redacted, err := storedRequest(in)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*in.Program, orig) || len(in.Flink.DynamicOptions) != 7 {
		t.Error("storedRequest changed the caller's request")
	}
	p := got.Program
	if p.Jar.URL != "https://artifacts.example.com/wordcount.jar" || p.Savepoint.Path != "s3://bucket/sp-1" ||
		!reflect.DeepEqual(p.Args, []string{"--db", "jdbc:postgresql://db:5432/x", "--plain"}) {
		t.Errorf("program = %+v", p)
	}
	if want := []string{"-Ds3.access-key=AKIA", "-Dsecurity.kerberos.login.keytab=/k", "-Dpipeline.name=x", "-Dstate.checkpoints.dir=s3://bucket/chk"}; !reflect.DeepEqual(got.Flink.DynamicOptions, want) {
		t.Errorf("dynamic options = %q, want %q", got.Flink.DynamicOptions, want)
	}
	if strings.Contains(got.Kubernetes.PodTemplate, "pw") {
		t.Errorf("pod template = %q", got.Kubernetes.PodTemplate)
	}
	want := []string{"program.jar.url", "program.args[1]", "program.savepoint.path", "kubernetes.pod_template",
		"flink.dynamic_options[s3.secret-key]", "flink.dynamic_options[password.file]",
		"flink.dynamic_options[metrics.reporter.prom.token]", "flink.dynamic_options[state.checkpoints.dir]"}
	if !reflect.DeepEqual(redacted, want) {
		t.Errorf("redacted = %q\nwant       %q", redacted, want)
	}

	// A request without secrets is stored as it is.
	clean := withRequest(deployed("ns", "job", "req-1", t0), "com.example.WordCount").Request
	if got, redacted, err := storedRequest(clean); err != nil || redacted != nil || !reflect.DeepEqual(got, clean) {
		t.Errorf("storedRequest(clean) = %+v, %q, %v", got, redacted, err)
	}
}

// BenchmarkGetMany reads 1,000 jobs with metrics and a checkpoint summary
// in one pipeline, with and without a stored request (which GetMany must
// not read), against the real redis-server.
func BenchmarkGetMany(b *testing.B) {
	for _, withReq := range []bool{false, true} {
		name := "without-request"
		if withReq {
			name = "with-request"
		}
		b.Run(name, func(b *testing.B) {
			const batch = 1000
			rdb := client(b)
			s := newStore(b, rdb, Options{})
			ctx := context.Background()
			keys := make([]string, batch)
			m := &Metrics{JobManagerMemoryBytes: 1600 << 20, TaskManagerMemoryBytes: 1728 << 20, TaskManagers: 2, SlotsTotal: 2, FlinkVersion: "1.19.1"}
			for i := range batch {
				d := deployed("bench", fmt.Sprintf("job-%04d", i), "r", t0)
				if withReq {
					withRequest(d, "com.example.WordCount")
				}
				keys[i] = d.Job.Key()
				register(b, s, d, t0)
				apply(b, s, Update{Key: keys[i], ExpectVersion: 1, LastPoll: t0, StartTime: t0, Metrics: m,
					Checkpoints: &Checkpoints{Total: 3, Completed: 3, LastCompletedID: 3, LastCompletedAt: t0, LastCompletedPath: "s3://bucket/chk-3"}})
			}
			cpu0 := redisCPU(b, rdb)
			n := 0
			for b.Loop() {
				if _, err := s.GetMany(ctx, keys); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric((redisCPU(b, rdb)-cpu0).Seconds()*1e6/float64(n*batch), "redis-cpu-µs/job")
		})
	}
}
