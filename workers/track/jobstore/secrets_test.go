package jobstore

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/ops"
)

// dump returns every key of the database with its content as text.
func dump(t *testing.T, rdb redis.UniversalClient) map[string]string {
	t.Helper()
	ctx := context.Background()
	var keys []string
	var mu sync.Mutex
	each := func(ctx context.Context, c *redis.Client) error {
		ks, err := c.Keys(ctx, "*").Result()
		mu.Lock()
		keys = append(keys, ks...)
		mu.Unlock()
		return err
	}
	var err error
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, each)
	} else {
		err = each(ctx, rdb.(*redis.Client))
	}
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, k := range keys {
		var b strings.Builder
		switch typ := rdb.Type(ctx, k).Val(); typ {
		case "hash":
			for f, v := range rdb.HGetAll(ctx, k).Val() {
				b.WriteString(f + "=" + v + "\n")
			}
		case "set":
			b.WriteString(strings.Join(rdb.SMembers(ctx, k).Val(), "\n"))
		case "list":
			b.WriteString(strings.Join(rdb.LRange(ctx, k, 0, -1).Val(), "\n"))
		case "zset":
			b.WriteString(strings.Join(rdb.ZRange(ctx, k, 0, -1).Val(), "\n"))
		case "stream":
			for _, m := range rdb.XRange(ctx, k, "-", "+").Val() {
				for f, v := range m.Values {
					b.WriteString(f + "=" + v.(string) + "\n")
				}
			}
		default:
			t.Fatalf("key %s has unexpected type %s", k, typ)
		}
		out[k] = b.String()
	}
	return out
}

// Labels are stored (they are the user's metadata and go out with every
// event); credentials in URLs and error texts are not.
func TestNoSecretsInRedis(t *testing.T) {
	rdb := client(t)
	s := newStore(t, rdb, Options{})
	d := deployed("ns", "job", "req-1", t0)
	d.RestEndpoint = "http://admin:hunter2@job-rest.ns:8081"
	d.WebUIURL = "https://viewer:hunter2@flink.example.com/job/?tab=overview"
	d.Labels = map[string]string{"team": "data", "cost-center": "42"}
	register(t, s, d, t0)
	res := apply(t, s, Update{Key: d.Job.Key(), ExpectVersion: 1,
		LastError:   `Get "http://admin:hunter2@job-rest.ns:8081/jobs/overview": dial tcp: connection refused`,
		Checkpoints: &Checkpoints{LastCompletedPath: "s3://key:hunter2@bucket/chk-1", LastFailureMessage: "upload to https://u:hunter2@s3/x failed"},
		Transition: &Transition{To: messages.StateSilent, Reason: "rest_unreachable",
			Message: "JobManager at http://admin:hunter2@job-rest.ns:8081 does not answer", Time: t0}})
	if res[0].Conflict {
		t.Fatal("conflict")
	}
	key := d.Job.Key()
	recordOp(t, s, key, newOp("sp-1", messages.OpSavepoint, ops.Requested), "h1")
	failed := newOp("sp-1", messages.OpSavepoint, ops.Done)
	failed.Result, failed.Reason = ops.Failed, "savepoint_failed"
	failed.Message, failed.Location = "upload to https://u:hunter2@s3/x failed", "s3://key:hunter2@bucket/sp-1"
	updateOp(t, s, key, "sp-1", ops.Requested, failed,
		&OpStep{Reason: "savepoint_failed", Message: failed.Message, SavepointPath: failed.Location, Time: t0})
	addSavepoint(t, s, key, SavepointEntry{Time: t0, Trigger: TriggerManual, Result: ops.Completed,
		Path: "s3://key:hunter2@bucket/sp-2", RequestID: "sp-2"})

	all := dump(t, rdb)
	for k, v := range all {
		if strings.Contains(v, "hunter2") || strings.Contains(k, "hunter2") {
			t.Errorf("%s holds a secret:\n%s", k, v)
		}
	}
	j := get(t, s, d.Job.Key())
	if j.RestEndpoint != "http://job-rest.ns:8081" || j.WebUIURL != "https://flink.example.com/job/?tab=overview" {
		t.Errorf("endpoints = %q, %q", j.RestEndpoint, j.WebUIURL)
	}
	if !strings.Contains(j.LastError, "http://job-rest.ns:8081/jobs/overview") || !strings.Contains(j.Message, "http://job-rest.ns:8081 does") {
		t.Errorf("redacted texts lost their URL: %q, %q", j.LastError, j.Message)
	}
	if j.Labels["team"] != "data" || j.Labels["cost-center"] != "42" {
		t.Errorf("labels = %v", j.Labels)
	}
	// The hash holds documented fields only.
	h := rdb.HGetAll(context.Background(), s.k.job(d.Job.Key())).Val()
	for f := range h {
		if !slices.Contains(hashFields, f) && !slices.Contains(runHashFields, f) {
			t.Errorf("undocumented hash field %q", f)
		}
	}
	// Every key is under the prefix and its shard's hash tag, and of a
	// documented kind.
	kinds := []string{"job:", "transitions:", "outbox", "state:", "kube:", "ns:", "jobs", "states", "terminal",
		"sp:", "ops:", "opq"}
	tagged := regexp.MustCompile(`^ff:\{[0-9]+\}:`)
	for k := range all {
		rest := tagged.ReplaceAllString(k, "")
		if rest == k || !slices.ContainsFunc(kinds, func(p string) bool { return strings.HasPrefix(rest, p) }) {
			t.Errorf("undocumented key %s", k)
		}
	}
	if j.Op == nil || j.Op.Message != "upload to https://s3/x failed" || j.Op.Location != "s3://bucket/sp-1" {
		t.Errorf("redacted operation = %+v", j.Op)
	}
	for _, k := range []string{s.k.savepoints(key), s.k.ops(key)} {
		if _, ok := all[k]; !ok {
			t.Errorf("%s was not dumped", k)
		}
	}
	es := outbox(t, s, j.Shard)
	if ev := es[len(es)-2]; ev.Labels["team"] != "data" || ev.WebUIURL != j.WebUIURL {
		t.Errorf("event labels %v, web UI %q", ev.Labels, ev.WebUIURL)
	}
}

// The request deployed is stored for a resume, without its credentials:
// URL user information, signed URLs' query strings, and the dynamic
// options Flink treats as sensitive.
func TestNoRequestSecretsInRedis(t *testing.T) {
	rdb := client(t)
	s := newStore(t, rdb, Options{})
	d := withRequest(deployed("ns", "job", "req-1", t0), "com.example.WordCount")
	r := d.Request
	r.Program.Jar.URL = "https://deploy:hunter2@artifacts.example.com/wordcount.jar?X-Amz-Signature=hunter2"
	r.Program.Savepoint.Path = "s3://key:hunter2@bucket/savepoints/sp-1"
	r.Program.Args = []string{"--sink", "jdbc:postgresql://app:hunter2@db:5432/x"}
	r.Flink.DynamicOptions = append(r.Flink.DynamicOptions, "-Ds3.secret-key=hunter2", "-Dfs.azure.account.key.acct.blob.core.windows.net=hunter2",
		"-Dmetrics.reporter.x.password=hunter2", "-Dhigh-availability.storageDir=s3://key:hunter2@bucket/ha")
	r.Kubernetes.TaskManagerPodTemplate = "spec:\n  containers:\n  - name: flink-main-container\n    env:\n    - {name: X, value: \"http://u:hunter2@h\"}\n"
	register(t, s, d, t0)
	key := d.Job.Key()

	all := dump(t, rdb)
	for k, v := range all {
		if strings.Contains(v, "hunter2") {
			t.Errorf("%s holds a secret:\n%s", k, v)
		}
	}
	h := rdb.HGetAll(context.Background(), s.k.job(key)).Val()
	if !strings.Contains(h[fRunRequest], "https://artifacts.example.com/wordcount.jar") || !strings.Contains(h[fRunRequest], "s3://bucket/savepoints/sp-1") {
		t.Errorf("run_request lost more than the credentials: %s", h[fRunRequest])
	}
	got := run(t, s, key)
	if got.Request == nil || len(got.Request.Flink.DynamicOptions) != 3 {
		t.Fatalf("stored request = %+v", got.Request)
	}
	for _, p := range []string{"program.jar.url", "program.savepoint.path", "program.args[1]", "kubernetes.taskmanager_pod_template",
		"flink.dynamic_options[s3.secret-key]", "flink.dynamic_options[metrics.reporter.x.password]"} {
		if !slices.Contains(got.Redacted, p) {
			t.Errorf("Redacted = %q, want %s in it", got.Redacted, p)
		}
	}
	for f := range h {
		if !slices.Contains(hashFields, f) && !slices.Contains(runHashFields, f) {
			t.Errorf("undocumented hash field %q", f)
		}
	}
}

func TestRedact(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"http://a:b@h:1/p", "http://h:1/p"},
		{"x https://tok@h/p?q=1 y s3://k:s@b/o", "x https://h/p?q=1 y s3://b/o"},
		{"mail me at a@b.c", "mail me at a@b.c"},
		{"http://h/p@q", "http://h/p@q"},
	} {
		if got := redact(tt.in); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := capText("aé", 2); got != "a" {
		t.Errorf("capText cut a rune: %q", got)
	}
}
