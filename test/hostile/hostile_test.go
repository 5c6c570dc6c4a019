package hostile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/devproc"
	"github.com/flinkferry/flinkferry/internal/devstate"
	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/internal/logging"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
)

const (
	// readyTimeout bounds `flinkferry dev` from start to its ready line.
	readyTimeout = 90 * time.Second
	// warmUpTimeout bounds the first valid request, from produce to RUNNING.
	warmUpTimeout = 90 * time.Second
	// settleTimeout bounds the whole corpus, from produce to the last
	// outcome.
	settleTimeout = 3 * time.Minute
	// validEvery is how many hostile cases go between two valid requests.
	validEvery = 10
	// validExample is the model of the valid requests, relative to the
	// module root.
	validExample = "examples/json/wordcount.json"
	// errorTextHeader is the dead-letter header holding the error text
	// (watermill's name, kept by internal/bus; README "Dead letters").
	errorTextHeader = "reason_poisoned"
	// registryNamespace is where dev's build worker pushes images:
	// <registry>/flinkferry/<cluster id> (FLINKFERRY_BUILD_REGISTRY_NAMESPACE).
	registryNamespace = "flinkferry"
)

// The RSS bound. Dev's memory after the corpus may exceed its memory after
// the first job by at most max(rssSlackBytes, warm-up × rssSlackRatio).
// Dev legitimately grows during the run: the embedded kfake broker keeps
// every record in memory (the corpus, about 3 MB, is held twice: on the
// submit topic and on the dead-letter one), every valid request adds a
// tracked Flink cluster (Kubernetes informers, a Flink REST simulator, a
// Redis key set), and Go's collector lets the heap reach twice the live
// data before it runs (GOGC=100). 150 MiB covers that with room; what it
// does not cover is memory that grows with the hostile inputs themselves,
// e.g. every 950 KB payload or 10,000-entry list retained after its
// refusal, or a YAML alias bomb expanded (gigabytes).
const (
	rssSlackBytes = 150 << 20
	rssSlackRatio = 1.5
)

var (
	// binary is the flinkferry binary TestMain built (none with -update);
	// root the module root, dev's working directory.
	binary, root string
)

func TestMain(m *testing.M) {
	flag.Parse()
	testenv.MainFunc(func() int {
		if *update {
			return m.Run() // regenerating the corpus needs no binary
		}
		var remove func()
		var err error
		if root, binary, remove, err = devproc.BuildTemp("flinkferry-hostile-"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer remove()
		return m.Run()
	})
}

// startDev starts `flinkferry dev --no-demo` on free ports with the test's
// environment minus FLINKFERRY_* and KUBECONFIG, and stops it at cleanup.
func startDev(t *testing.T) *devproc.Process {
	t.Helper()
	testenv.LookPath(t, "redis-server")
	if !kubetest.Available() {
		t.Fatal("kube-apiserver/etcd binaries missing: run `bash hack/k8s-testbin/build.sh` (see internal/kubetest)")
	}
	p, err := devproc.Start(devproc.ForTests(binary, root, readyTimeout))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("flinkferry dev output, last lines:\n%s", tail(p.Output(), 60))
		}
		p.Stop(20 * time.Second)
	})
	t.Logf("flinkferry dev ready in %s", p.ReadyAfter.Round(10*time.Millisecond))
	return p
}

// record is one record produced, hostile or valid.
type record struct {
	c     *Case // nil for a valid request
	key   string
	reqID string // request id to match status events ("" when none)
	cid   string // cluster id to match status events
	rec   *kgo.Record
}

func (r *record) name() string {
	if r.c != nil {
		return r.c.ClusterID + " (" + r.c.Name + ")"
	}
	return "valid request " + r.reqID
}

// observation is one thing seen about a record: a dead letter or a status
// event.
type observation struct {
	kind   string // "dead-letter" or the event type
	reason string
	text   string // error text or event message
	to     string // state of a job status changed event
}

func (o observation) String() string {
	s := o.kind
	if o.reason != "" {
		s += " reason=" + o.reason
	}
	if o.to != "" {
		s += " to=" + o.to
	}
	if o.text != "" {
		s += " text=" + strconv.Quote(logging.Truncate(o.text, 600))
	}
	return s
}

// tracker matches the records read from the dead-letter and status
// topics to what was produced.
type tracker struct {
	byKey, byReqID, byCID map[string]*record
	seen                  map[*record][]observation
	unmatched             int
}

func newTracker() *tracker {
	return &tracker{byKey: map[string]*record{}, byReqID: map[string]*record{}, byCID: map[string]*record{}, seen: map[*record][]observation{}}
}

func (tr *tracker) add(r *record) {
	tr.byKey[r.key] = r
	if r.reqID != "" {
		tr.byReqID[r.reqID] = r
	}
	tr.byCID[r.cid] = r
}

// statusEvent holds what the test reads of any status event.
type statusEvent struct {
	RequestID string `json:"request_id"`
	Job       struct {
		ClusterID string `json:"cluster_id"`
	} `json:"job"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
	To      string `json:"to"`
}

// consume files one record read from deadLetter or status.
func (tr *tracker) consume(deadLetter string, kr *kgo.Record) {
	if kr.Topic == deadLetter {
		r := tr.byKey[string(kr.Key)]
		if r == nil {
			tr.unmatched++
			return
		}
		tr.seen[r] = append(tr.seen[r], observation{kind: LandDeadLetter, reason: testenv.Header(kr, bus.ReasonHeader), text: testenv.Header(kr, errorTextHeader)})
		return
	}
	var ev statusEvent
	if err := json.Unmarshal(kr.Value, &ev); err != nil {
		tr.unmatched++
		return
	}
	r := tr.byReqID[ev.RequestID]
	if r == nil {
		r = tr.byCID[ev.Job.ClusterID]
	}
	if r == nil {
		tr.unmatched++
		return
	}
	kind := testenv.Header(kr, messages.HeaderType)
	if kind == "" {
		kind = messages.TypeJobStatusChanged
	}
	tr.seen[r] = append(tr.seen[r], observation{kind: kind, reason: ev.Reason, text: ev.Message, to: ev.To})
}

// settled reports whether r has an outcome: for a hostile case anything
// at all (a refusal, or the first sign it was accepted); for a valid
// request RUNNING or a failure.
func (tr *tracker) settled(r *record) bool {
	obs := tr.seen[r]
	if r.c != nil {
		return len(obs) > 0
	}
	return slices.ContainsFunc(obs, func(o observation) bool {
		switch {
		case o.kind == LandDeadLetter, o.kind == messages.TypeBuildFailed, o.kind == messages.TypeDeployFailed:
			return true
		case o.kind == messages.TypeJobStatusChanged:
			return o.to == string(messages.StateRunning) || o.to == string(messages.StateFailed) ||
				o.to == string(messages.StateDeployFailed) || o.to == string(messages.StateLost)
		}
		return false
	})
}

// running reports whether a RUNNING status event was seen for r.
func (tr *tracker) running(r *record) bool {
	return slices.ContainsFunc(tr.seen[r], func(o observation) bool {
		return o.kind == messages.TypeJobStatusChanged && o.to == string(messages.StateRunning)
	})
}

// verdict returns "" when r's observations meet its case's expectation,
// else what is wrong.
func verdict(c *Case, obs []observation) string {
	if len(obs) == 0 {
		return "no outcome: neither a dead letter nor a status event"
	}
	want := LandDeadLetter
	if c.Expect.Land == LandBuildFailed {
		want = messages.TypeBuildFailed
	}
	var problems []string
	met := false
	for _, o := range obs {
		if o.kind != want {
			problems = append(problems, "unexpected "+o.String())
			continue
		}
		switch {
		case o.reason == "":
			problems = append(problems, "no machine-readable reason: "+o.String())
		case o.reason != c.Expect.Reason:
			problems = append(problems, fmt.Sprintf("reason %s, want %s: %s", o.reason, c.Expect.Reason, o))
		case c.Expect.Field != "" && !namesField(o.text, c.Expect.Field):
			problems = append(problems, fmt.Sprintf("error text does not name field %s: %s", c.Expect.Field, o))
		case !strings.Contains(o.text, c.Expect.Text):
			problems = append(problems, fmt.Sprintf("error text lacks %q: %s", c.Expect.Text, o))
		default:
			met = true
		}
		for _, secret := range c.Expect.Absent {
			if strings.Contains(o.text, secret) {
				problems = append(problems, fmt.Sprintf("error text reveals %q: %s", secret, o))
			}
		}
	}
	if !met && len(problems) == 0 {
		problems = append(problems, "no "+c.Expect.Land)
	}
	if len(problems) == 0 {
		return ""
	}
	return strings.Join(problems, "; ")
}

// TestHostileCorpus produces testdata/corpus.jsonl to a running `flinkferry
// dev`, a valid request after every ten hostile cases, and checks that
// every hostile case is refused as the corpus says and pushes nothing,
// that every valid request reaches RUNNING, that dev's log lines stay
// under logging.MaxLineBytes and that dev's memory stays flat.
func TestHostileCorpus(t *testing.T) {
	if binary == "" {
		t.Skip("no flinkferry binary (-update only regenerates the corpus)")
	}
	cases, err := loadCorpus()
	if err != nil {
		t.Fatalf("%v (generate it: go test ./test/hostile -run TestCorpus -update)", err)
	}
	if err := checkCorpus(cases); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	d := startDev(t)
	st, err := d.State()
	if err != nil {
		t.Fatal(err)
	}
	topics := messages.DefaultTopics(st.TopicPrefix)
	tmpl, err := os.ReadFile(filepath.Join(root, validExample))
	if err != nil {
		t.Fatal(err)
	}

	tr := newTracker()
	var records []*record
	nValid := 0
	addValid := func() *record {
		r := validRecord(t, tmpl, nValid, st)
		r.rec.Topic = topics.Submit
		nValid++
		tr.add(r)
		records = append(records, r)
		return r
	}
	warm := addValid()
	for i := range cases {
		v, err := cases[i].Value()
		if err != nil {
			t.Fatal(err)
		}
		r := &record{c: &cases[i], key: cases[i].Key, reqID: cases[i].RequestID, cid: cases[i].ClusterID,
			rec: &kgo.Record{Topic: topics.Submit, Key: []byte(cases[i].Key), Value: devArtifactsURL(v, st)}}
		for _, k := range slices.Sorted(maps.Keys(cases[i].Headers)) {
			r.rec.Headers = append(r.rec.Headers, kgo.RecordHeader{Key: k, Value: []byte(cases[i].Headers[k])})
		}
		tr.add(r)
		records = append(records, r)
		if (i+1)%validEvery == 0 {
			addValid()
		}
	}

	prod, err := kgo.NewClient(kgo.SeedBrokers(st.KafkaBrokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	// dev's workers create the topics as they start, which may end after
	// dev's ready line.
	waitTopics(t, prod, topics.Submit, topics.DeadLetter, topics.Status)
	cons, err := kgo.NewClient(kgo.SeedBrokers(st.KafkaBrokers...),
		kgo.ConsumeTopics(topics.DeadLetter, topics.Status), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	poll := func(until time.Time, done func() bool) bool {
		for !done() {
			if time.Now().After(until) {
				return false
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			fs := cons.PollFetches(ctx)
			cancel()
			fs.EachError(func(topic string, p int32, err error) {
				if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
					t.Logf("consuming %s[%d]: %v", topic, p, err)
				}
			})
			fs.EachRecord(func(kr *kgo.Record) { tr.consume(topics.DeadLetter, kr) })
		}
		return true
	}
	produce := func(rs ...*record) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		recs := make([]*kgo.Record, len(rs))
		for i, r := range rs {
			recs[i] = r.rec
		}
		for i, res := range prod.ProduceSync(ctx, recs...) {
			if res.Err != nil {
				t.Fatalf("producing %s: %v", rs[i].name(), res.Err)
			}
		}
	}

	// Warm-up: the first valid request runs before the corpus, so the RSS
	// baseline holds one tracked job and every worker's first-use costs.
	warmBegan := time.Now()
	produce(warm)
	if !poll(time.Now().Add(warmUpTimeout), func() bool { return tr.settled(warm) }) || !tr.running(warm) {
		t.Fatalf("warm-up: %s did not reach RUNNING within %s: %v", warm.name(), warmUpTimeout, tr.seen[warm])
	}
	warmTook := time.Since(warmBegan)
	rssWarm, err := vmRSS(d.Cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}

	corpusBegan := time.Now()
	produce(records[1:]...)
	allSettled := poll(time.Now().Add(settleTimeout), func() bool {
		return !slices.ContainsFunc(records, func(r *record) bool { return !tr.settled(r) })
	})
	corpusTook := time.Since(corpusBegan)
	rssEnd, err := vmRSS(d.Cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if !allSettled {
		var open []string
		for _, r := range records {
			if !tr.settled(r) {
				open = append(open, r.name())
			}
		}
		t.Errorf("%d records without an outcome after %s (if dev stopped logging, a line over 64 KiB may have stopped devproc's reader): %s",
			len(open), settleTimeout, strings.Join(open, ", "))
	}

	// 1. Every hostile case refused where and why the corpus says.
	type classStats struct{ cases, refused, failed int }
	byClass := map[string]*classStats{}
	reasons := map[string]int{}
	var failures []string
	for _, r := range records {
		obs := tr.seen[r]
		if r.c == nil {
			if !tr.running(r) {
				t.Errorf("%s did not reach RUNNING: %v", r.name(), obs)
			}
			for _, o := range obs {
				if o.kind == LandDeadLetter || o.kind == messages.TypeBuildFailed || o.kind == messages.TypeDeployFailed {
					t.Errorf("%s: %s", r.name(), o)
				}
			}
			continue
		}
		cs := byClass[r.c.Class]
		if cs == nil {
			cs = &classStats{}
			byClass[r.c.Class] = cs
		}
		cs.cases++
		for _, o := range obs {
			if o.kind == LandDeadLetter || o.kind == messages.TypeBuildFailed || o.kind == messages.TypeDeployFailed {
				reasons[o.kind+" "+o.reason]++
			}
		}
		if v := verdict(r.c, obs); v != "" {
			cs.failed++
			failures = append(failures, fmt.Sprintf("%s [%s]: %s", r.name(), r.c.Class, v))
			continue
		}
		cs.refused++
	}
	for _, f := range failures {
		t.Error(f)
	}
	if tr.unmatched > 0 {
		t.Logf("%d records on %s and %s matched no produced record", tr.unmatched, topics.DeadLetter, topics.Status)
	}

	// 2. Nothing pushed for any hostile case.
	checkRegistry(t, st, records)

	// 3. No log line over the cap.
	longest, longestLine := 0, ""
	for _, l := range strings.Split(d.Output(), "\n") {
		l = strings.TrimPrefix(l, "stderr: ") // devproc's mark, not dev's
		if len(l) > longest {
			longest, longestLine = len(l), l
		}
	}
	// Scanner lines lack their newline; the cap counts it.
	if longest+1 > logging.MaxLineBytes {
		t.Errorf("dev logged a line of %d bytes, more than logging.MaxLineBytes (%d): %.300s…", longest+1, logging.MaxLineBytes, longestLine)
	}

	// 4. RSS flat.
	bound := max(rssWarm+rssSlackBytes, int64(float64(rssWarm)*rssSlackRatio))
	if rssEnd > bound {
		t.Errorf("dev's RSS grew from %s after warm-up to %s after the corpus, more than the bound %s", mib(rssWarm), mib(rssEnd), mib(bound))
	}

	// Summary.
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "class\tcases\trefused as expected\tnot")
	total := &classStats{}
	for _, class := range slices.Sorted(maps.Keys(byClass)) {
		cs := byClass[class]
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\n", class, cs.cases, cs.refused, cs.failed)
		total.cases, total.refused, total.failed = total.cases+cs.cases, total.refused+cs.refused, total.failed+cs.failed
	}
	fmt.Fprintf(w, "total\t%d\t%d\t%d\n", total.cases, total.refused, total.failed)
	fmt.Fprintln(w, "\t\t\t")
	fmt.Fprintln(w, "outcome\treason\trecords\t")
	for _, k := range slices.Sorted(maps.Keys(reasons)) {
		kind, reason, _ := strings.Cut(k, " ")
		fmt.Fprintf(w, "%s\t%s\t%d\t\n", kind, reason, reasons[k])
	}
	_ = w.Flush()
	running := 0
	for _, r := range records {
		if r.c == nil && tr.running(r) {
			running++
		}
	}
	t.Logf("hostile corpus: %d cases, %d valid requests (%d RUNNING)\n%s", len(cases), nValid, running, b.String())
	t.Logf("time: dev ready %s, warm-up job RUNNING in %s, corpus settled in %s, total %s",
		d.ReadyAfter.Round(100*time.Millisecond), warmTook.Round(100*time.Millisecond), corpusTook.Round(100*time.Millisecond), time.Since(began).Round(100*time.Millisecond))
	t.Logf("dev RSS: %s after warm-up, %s after the corpus (bound %s)", mib(rssWarm), mib(rssEnd), mib(bound))
	t.Logf("longest dev output line: %d bytes (cap logging.MaxLineBytes = %d): %.200s", longest+1, logging.MaxLineBytes, longestLine)
}

// topicsTimeout bounds the wait for dev's topics.
const topicsTimeout = 30 * time.Second

// waitTopics waits until every topic exists.
func waitTopics(t *testing.T, cl *kgo.Client, topics ...string) {
	t.Helper()
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(topicsTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		details, err := adm.ListTopics(ctx, topics...)
		cancel()
		missing := slices.DeleteFunc(slices.Clone(topics), func(topic string) bool {
			d, ok := details[topic]
			return ok && d.Err == nil
		})
		if err == nil && len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("topics %v missing %s after dev's ready line (%v)", missing, topicsTimeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// validRecord is examples/json/wordcount.json as valid request i: request
// id valid-<i>, cluster id v-<i>, jar on dev's artifact server.
func validRecord(t *testing.T, tmpl []byte, i int, st devstate.State) *record {
	t.Helper()
	var req map[string]any
	if err := json.Unmarshal(tmpl, &req); err != nil {
		t.Fatalf("%s: %v", validExample, err)
	}
	reqID, cid := "valid-"+strconv.Itoa(i), "v-"+strconv.Itoa(i)
	req["request_id"] = reqID
	req["job"].(map[string]any)["cluster_id"] = cid
	v, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	key := devNamespace + "/" + cid
	return &record{key: key, reqID: reqID, cid: cid,
		rec: &kgo.Record{Key: []byte(key), Value: devArtifactsURL(v, st)}}
}

// devArtifactsURL points the jar URLs on dev's default artifact server at
// the running dev's, as `flinkferry submit` does.
func devArtifactsURL(v []byte, st devstate.State) []byte {
	if st.ArtifactsURL == "" || st.ArtifactsURL == devArtifacts {
		return v
	}
	return bytes.ReplaceAll(v, []byte(devArtifacts), []byte(st.ArtifactsURL))
}

// checkRegistry checks that dev's registry holds no repository of any
// hostile case (its catalog, and tags/list answering 404 for a sample),
// and does hold the valid requests' images, so the check can see pushes.
func checkRegistry(t *testing.T, st devstate.State, records []*record) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(path string) (int, []byte) {
		resp, err := client.Get("http://" + st.Registry + path)
		if err != nil {
			t.Fatalf("registry: %v", err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("registry %s: %v", path, err)
		}
		return resp.StatusCode, b
	}
	code, body := get("/v2/_catalog?n=100000")
	if code != http.StatusOK {
		t.Fatalf("registry /v2/_catalog: HTTP %d: %s", code, body)
	}
	var catalog struct {
		Repositories []string `json:"repositories"`
	}
	if err := json.Unmarshal(body, &catalog); err != nil {
		t.Fatalf("registry /v2/_catalog: %v: %s", err, body)
	}
	repos := map[string]bool{}
	for _, r := range catalog.Repositories {
		repos[r] = true
	}
	sampled, pushed := 0, 0
	for i, r := range records {
		repo := registryNamespace + "/" + r.cid
		if r.c == nil {
			if !repos[repo] {
				t.Errorf("registry catalog lacks %s, the image of %s: the push check sees nothing", repo, r.name())
			}
			continue
		}
		if repos[repo] {
			pushed++
			t.Errorf("registry holds %s: %s was pushed", repo, r.name())
		}
		// tags/list for every case refused by the build worker (it came
		// nearest to a push) and every 20th other case.
		if r.c.Expect.Land == LandBuildFailed || i%20 == 0 {
			sampled++
			if code, body := get("/v2/" + repo + "/tags/list"); code != http.StatusNotFound {
				t.Errorf("registry /v2/%s/tags/list: HTTP %d, want 404: %.200s", repo, code, body)
			}
		}
	}
	t.Logf("registry: %d repositories, %d of a hostile case; tags/list sampled for %d hostile cases", len(catalog.Repositories), pushed, sampled)
}

// vmRSS returns the resident set size of process pid, in bytes.
func vmRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/%d/status: VmRSS %q: %w", pid, rest, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no VmRSS", pid)
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
