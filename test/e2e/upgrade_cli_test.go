package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSubmitWaitShowsAnUpgrade is issue 15's "flinkferry submit -f shows
// an upgrade's steps live", on `flinkferry dev` with the real binary: the
// example runs under a cluster id of its own; the same job submitted
// again under a new request id with another parallelism is an upgrade,
// and `submit --wait` prints each step (the running request it replaces,
// the savepoint taken, the restore point it deploys from, the new run's
// states) and exits 0 once the new run is RUNNING.
func TestSubmitWaitShowsAnUpgrade(t *testing.T) {
	d := runningDev(t)
	data, err := os.ReadFile(filepath.Join(root, exampleFile))
	if err != nil {
		t.Fatal(err)
	}
	const id = "cli-upgrade"
	v1 := strings.Replace(string(data), "cluster_id: wordcount", "cluster_id: "+id, 1)
	v1 = strings.Replace(v1, "request_id: wordcount-example-1", "request_id: "+id+"-v1", 1)
	v2 := strings.Replace(v1, "request_id: "+id+"-v1", "request_id: "+id+"-v2", 1)
	v2 = strings.Replace(v2, "parallelism: 2", "parallelism: 1", 1)
	if v2 == v1 || !strings.Contains(v1, "cluster_id: "+id) {
		t.Fatal("the example no longer has the fields this test changes")
	}
	dir := t.TempDir()
	f1, f2 := filepath.Join(dir, "v1.yaml"), filepath.Join(dir, "v2.yaml")
	for f, s := range map[string]string{f1: v1, f2: v2} {
		if err := os.WriteFile(f, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	if r := d.flinkferry(t, 2*time.Minute, "submit", "-f", f1, "--wait"); r.code != 0 {
		t.Fatalf("submit v1 --wait: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	r := d.flinkferry(t, 2*time.Minute, "submit", "-f", f2, "--wait")
	if r.code != 0 {
		t.Fatalf("submit v2 --wait: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	// The lines in the order the steps happen.
	rest := r.stdout
	for _, want := range []string{
		"pushed ",
		"upgrading (savepoint): the job runs request " + id + "-v1 (RUNNING); suspending with a savepoint…",
		"old cluster removed, deploying from s3://",
		"objects applied",
		"RUNNING",
		"upgraded " + id + "-v1 → " + id + "-v2 (savepoint), from ",
	} {
		i := strings.Index(rest, want)
		if i < 0 {
			t.Fatalf("submit v2 --wait output lacks %q after the previous step:\n%s", want, r.stdout)
		}
		rest = rest[i+len(want):]
	}
	// The restore point is the savepoint the upgrade took (its own line,
	// when its step came before the upgrade's end), the one in the job's
	// savepoint history.
	var sp string
	for _, l := range strings.Split(r.stdout, "\n") {
		if p, ok := strings.CutPrefix(l, "old cluster removed, deploying from "); ok {
			sp = p
		}
		if p, ok := strings.CutPrefix(l, "savepoint "); ok {
			if p, _, _ = strings.Cut(p, ";"); sp != "" && p != sp {
				t.Errorf("savepoint %s taken, the new run deploys from %s", p, sp)
			}
		}
	}
	h := d.flinkferry(t, 30*time.Second, "savepoints", id, "-o", "json")
	if h.code != 0 || !strings.Contains(h.stdout, `"`+sp+`"`) || !strings.Contains(h.stdout, "upgrade") {
		t.Errorf("savepoint history of %s (exit %d) lacks the upgrade's savepoint %s:\n%s%s", id, h.code, sp, h.stdout, h.stderr)
	}
}
