package submit

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/internal/ops"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
)

// BenchmarkSubmit sends image built events through one submit worker
// replica (kfake, three brokers) to a real local kube-apiserver + etcd and
// reports, for two regimes in the same run:
//
//   - burst: all submissions produced at once; latency is mostly queueing
//     and the throughput is the replica's capacity;
//   - paced: the same number produced at a steady fraction of the burst's
//     throughput (below capacity), so latency is that of one request.
//
// Latency runs from producing the image built record to the deployed
// event's time (set by the worker once every object is applied); p50,
// p99 and submissions/s are reported per regime, with the API requests
// per submission and the CPU seconds of the API server, etcd and the test
// process (worker + kfake + harness) as evidence for the bottleneck.
//
// It has its own control plane (benchControlPlane) with room for
// thousands of Services.
//
// Variables: FLINKFERRY_BENCH_SUBMISSIONS (1000), _PARTITIONS (12, the
// worker's FLINKFERRY_KAFKA_PARTITIONS default), _KUBE_QPS and
// _KUBE_BURST (the worker's defaults), _PACED_FRACTION (0.5) or
// _PACED_RATE (submissions/s, instead of the fraction), _REGIMES
// (burst,paced), _TIMEOUT per regime (5m), _LOG (worker log level, off by
// default).
//
//	go test -run '^$' -bench Submit -benchtime 1x ./workers/submit
func BenchmarkSubmit(b *testing.B) {
	n := benchInt("FLINKFERRY_BENCH_SUBMISSIONS", 1000)
	partitions := benchInt("FLINKFERRY_BENCH_PARTITIONS", 12)
	qps := benchFloat("FLINKFERRY_BENCH_KUBE_QPS", defaultOf[float64](b, "KubeQPS"))
	burst := benchInt("FLINKFERRY_BENCH_KUBE_BURST", defaultOf[int](b, "KubeBurst"))
	fraction := benchFloat("FLINKFERRY_BENCH_PACED_FRACTION", 0.5)
	pacedRate := benchFloat("FLINKFERRY_BENCH_PACED_RATE", 0)
	timeout := benchDuration("FLINKFERRY_BENCH_TIMEOUT", 5*time.Minute)
	regimes := strings.Split(benchString("FLINKFERRY_BENCH_REGIMES", "burst,paced"), ",")
	b.Logf("%d submissions, %d partitions, client %.0f QPS / burst %d, paced at %.2f of the burst throughput", n, partitions, qps, burst, fraction)

	for i := range b.N {
		p := newSubmitBench(b, partitions, float32(qps), burst)
		p.warmUp()
		var burstRate float64
		for _, name := range regimes {
			rate := 0.0
			switch name {
			case "burst":
			case "paced":
				if rate = pacedRate; rate > 0 {
					break
				}
				if burstRate == 0 {
					b.Fatal("the paced regime needs a burst regime before it")
				}
				rate = fraction * burstRate
			default:
				b.Fatalf("unknown regime %q", name)
			}
			r := p.run(fmt.Sprintf("%s-%d", name, i), n, rate, timeout)
			if name == "burst" {
				burstRate = r.throughput
			}
			b.Log(r)
			b.ReportMetric(r.p(50).Seconds()*1000, name+"-p50-ms")
			b.ReportMetric(r.p(99).Seconds()*1000, name+"-p99-ms")
			b.ReportMetric(r.throughput, name+"-submissions/s")
		}
	}
}

// BenchmarkApply measures one submission's applies on an idle API server
// (no Kafka): the owned objects applied together after the Deployment
// (Apply) against one after the other (applySequentially, the first
// version), and Apply with the Web UI Ingress (issue 16). Each iteration applies a new job with each variant, in
// alternating order, and the p50/p99 per variant are reported.
//
//	go test -run '^$' -bench 'Apply$' -benchtime 300x ./workers/submit
func BenchmarkApply(b *testing.B) {
	cs := benchControlPlane(b).Clientset()
	ctx := context.Background()
	variants := []struct {
		name    string
		apply   func(context.Context, kubernetes.Interface, *Objects) (Applied, error)
		ingress bool // with the Web UI Ingress (one more apply in the fan-out)
	}{{"sequential", applySequentially, false}, {"concurrent", Apply, false}, {"ingress", Apply, true}}
	ns := "apply"
	kubetest.CreateNamespace(b, cs, ns)
	lat := make([][]time.Duration, len(variants))
	i := 0
	for b.Loop() {
		for k := range variants {
			v := (i + k) % len(variants)
			ev := imageBuilt(messages.ModeApplication, func(r *messages.SubmitRequested) {
				r.Job = messages.JobRef{Namespace: ns, ClusterID: fmt.Sprintf("%s-%05d", variants[v].name, i)}
			})
			ev.Job = ev.Request.Job
			objs, err := BuildObjects(ev, EffectiveConf(ev, ev.JarName, FlinkConf{}))
			if err != nil {
				b.Fatal(err)
			}
			if variants[v].ingress {
				if _, err := objs.AddIngress(&kubeclusters.Ingress{Host: "{cluster_id}.{namespace}.flink.example.com"}, ev.Job, "default"); err != nil {
					b.Fatal(err)
				}
			}
			began := time.Now()
			if _, err := variants[v].apply(ctx, cs, objs); err != nil {
				b.Fatal(err)
			}
			lat[v] = append(lat[v], time.Since(began))
		}
		i++
	}
	for v, l := range lat {
		slices.Sort(l)
		b.ReportMetric(percentile(l, 50).Seconds()*1000, variants[v].name+"-p50-ms")
		b.ReportMetric(percentile(l, 99).Seconds()*1000, variants[v].name+"-p99-ms")
	}
}

// applySequentially is the first version of Apply, kept as the baseline of
// BenchmarkApply: every object waits for the one before.
func applySequentially(ctx context.Context, cs kubernetes.Interface, objs *Objects) (Applied, error) {
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	ns := *objs.Deployment.Namespace
	d, err := cs.AppsV1().Deployments(ns).Apply(ctx, objs.Deployment, opts)
	if err != nil {
		return nil, err
	}
	out := Applied{"Deployment/" + d.Name: string(d.UID)}
	objs.Owned(string(d.UID))
	for _, cm := range objs.ConfigMaps {
		got, err := cs.CoreV1().ConfigMaps(ns).Apply(ctx, cm, opts)
		if err != nil {
			return out, err
		}
		out["ConfigMap/"+got.Name] = string(got.UID)
	}
	for _, s := range objs.Services {
		got, err := cs.CoreV1().Services(ns).Apply(ctx, s, opts)
		if err != nil {
			return out, err
		}
		out["Service/"+got.Name] = string(got.UID)
	}
	return out, nil
}

// benchControlPlane starts a control plane of the benchmark's own with a
// /16 service range: the shared one's /24 holds 254 ClusterIPs, and every
// job's -rest Service takes one ("failed to allocate a serviceIP: range is
// full" after about 250 jobs).
func benchControlPlane(b *testing.B) *kubetest.ControlPlane {
	b.Helper()
	return kubetest.Start(b, kubetest.Options{APIServerArgs: []string{"--service-cluster-ip-range=10.0.0.0/16"}})
}

// submitBench is one worker replica with its peers and the harness's
// Kafka producer and collector.
type submitBench struct {
	b        *testing.B
	cs       kubernetes.Interface // admin, unthrottled: setup and /metrics
	cp       *kubetest.ControlPlane
	trips    *tripRecorder // every request of the worker's client
	clusters *kubeclusters.Set
	topics   messages.Topics
	producer *kgo.Client
	results  chan deployedAt
}

// deployedAt is a deployed event seen by the harness, or a failure.
type deployedAt struct {
	requestID string
	at        time.Time // the event's time: every object applied
	received  time.Time // when the harness read the record
	err       error
}

func newSubmitBench(b *testing.B, partitions int, qps float32, burst int) *submitBench {
	b.Helper()
	k := testenv.Kafka(b, kfake.DefaultNumPartitions(partitions))
	cp := benchControlPlane(b)
	trips := &tripRecorder{}
	rc := cp.Config()
	rc.QPS, rc.Burst = qps, burst
	rc.Wrap(func(rt http.RoundTripper) http.RoundTripper { return trips.wrap(rt) })
	kube, err := kubernetes.NewForConfig(rc)
	if err != nil {
		b.Fatal(err)
	}
	cfg := Config{Common: k.WorkerCommon()}
	cfg.Kafka.Partitions = int32(partitions)
	p := &submitBench{
		b: b, cs: cp.Clientset(), cp: cp, trips: trips,
		clusters: &kubeclusters.Set{}, topics: cfg.Kafka.Topics(),
		producer: k.Client(b, kgo.ProducerLinger(0)),
		results:  make(chan deployedAt, 4096),
	}
	p.clusters.Add(kubeclusters.Config{Name: "default", Default: true, AllowedNamespaces: []string{"*"}, AllowedServiceAccounts: []string{"default"}, RestAccess: kubeclusters.RestAccessAuto}, kube)

	spec := Spec(cfg, p.clusters)
	spec.Logger = slog.New(slog.DiscardHandler)
	if lvl := os.Getenv("FLINKFERRY_BENCH_LOG"); lvl != "" {
		var l slog.Level
		if err := l.UnmarshalText([]byte(lvl)); err != nil {
			b.Fatal(err)
		}
		spec.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
	}
	spec.Ops = ops.New(spec.Logger)
	testenv.RunWorker(b, spec)

	consumer := k.Client(b, kgo.ConsumeTopics(p.topics.Deployed, p.topics.Status, p.topics.DeadLetter),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	b.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		p.collect(ctx, consumer)
	}()
	return p
}

// collect turns deployed records into results, and deploy failed or
// dead-lettered records into errors.
func (p *submitBench) collect(ctx context.Context, c *kgo.Client) {
	for ctx.Err() == nil {
		fs := c.PollFetches(ctx)
		now := time.Now()
		fs.EachRecord(func(r *kgo.Record) {
			var res deployedAt
			switch r.Topic {
			case p.topics.DeadLetter:
				res.err = fmt.Errorf("dead-lettered (%s): %s", testenv.Header(r, bus.ReasonHeader), testenv.Header(r, "reason_poisoned"))
			default:
				ev, _, err := messages.DecodeMessage(headerMap(r), "", r.Value)
				if err != nil {
					res.err = err
					break
				}
				switch e := ev.(type) {
				case *messages.Deployed:
					if r.Topic != p.topics.Deployed {
						return // the same event on the status topic
					}
					res = deployedAt{requestID: e.RequestID, at: e.Time, received: now}
				case *messages.DeployFailed:
					res.err = fmt.Errorf("deploy failed for %s: %s: %s", e.RequestID, e.Reason, e.Message)
				default:
					return
				}
			}
			select {
			case p.results <- res:
			case <-ctx.Done():
			}
		})
	}
}

// warmUp deploys one job so that the consumer group has joined and the
// connections are open before anything is measured.
func (p *submitBench) warmUp() {
	p.b.Helper()
	ns := "bench-warm-up"
	kubetest.CreateNamespace(p.b, p.cs, ns)
	id := p.produce(ns, "warm-up")
	select {
	case r := <-p.results:
		if r.err != nil || r.requestID != id {
			p.b.Fatalf("warm-up: got %+v, want the deployed event of %s", r, id)
		}
	case <-time.After(time.Minute):
		p.b.Fatal("warm-up: no deployed event within a minute")
	}
}

// produce sends the image built event of job ns/id and returns its request id.
func (p *submitBench) produce(ns, id string) string {
	ev := imageBuilt(messages.ModeApplication, func(r *messages.SubmitRequested) {
		r.Job = messages.JobRef{Namespace: ns, ClusterID: id}
		r.RequestID = ns + "-" + id
	})
	ev.Job, ev.RequestID, ev.JarSHA256, ev.Time = ev.Request.Job, ev.Request.RequestID, "5f51cb089dffd25034b0a897c81ff9ceab826802ad66d333d2e06ca30a6b6480", time.Now().UTC()
	key, headers, value, err := messages.Encode(ev, messages.Envelope{Source: "bench"})
	if err != nil {
		p.b.Fatal(err)
	}
	produceAsync(p.producer, p.topics.ImageBuilt, key, value, headers)
	return ev.RequestID
}

// regime is what one regime measured.
type regime struct {
	name       string
	n          int
	rate       float64         // produced per second (0: burst)
	latencies  []time.Duration // sorted
	lags       []time.Duration // deployed event time -> read by the harness, sorted
	throughput float64         // submissions per second, first produce to last deployed
	requests   map[string]int  // API requests by verb and resource
	trips      []time.Duration // client-side latency of each API request, sorted
	applyMean  time.Duration   // API server's mean APPLY latency (its /metrics)
	cpu        cpuTimes        // CPU seconds spent during the regime
}

func (r regime) p(q int) time.Duration { return percentile(r.latencies, q) }

func (r regime) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d submissions", r.name, r.n)
	if r.rate > 0 {
		fmt.Fprintf(&b, " paced at %.1f/s", r.rate)
	}
	reqs := 0
	var kinds []string
	for k, v := range r.requests {
		reqs += v
		kinds = append(kinds, fmt.Sprintf("%s=%d", k, v))
	}
	slices.Sort(kinds)
	fmt.Fprintf(&b, ": p50 %v p90 %v p99 %v max %v, %.1f submissions/s; deployed event read by the harness after p50 %v p99 %v",
		r.p(50).Round(time.Millisecond), r.p(90).Round(time.Millisecond), r.p(99).Round(time.Millisecond), r.p(100).Round(time.Millisecond), r.throughput,
		percentile(r.lags, 50).Round(time.Millisecond), percentile(r.lags, 99).Round(time.Millisecond))
	fmt.Fprintf(&b, "\n\tAPI requests: %.2f per submission (%s); client-side latency p50 %v p99 %v; API server mean APPLY %v",
		float64(reqs)/float64(r.n), strings.Join(kinds, " "),
		percentile(r.trips, 50).Round(100*time.Microsecond), percentile(r.trips, 99).Round(100*time.Microsecond), r.applyMean.Round(100*time.Microsecond))
	fmt.Fprintf(&b, "\n\tCPU seconds: kube-apiserver %.1f, etcd %.1f, test process (worker + kfake + harness) %.1f", r.cpu.apiServer, r.cpu.etcd, r.cpu.self)
	return b.String()
}

// run produces n image built events in a fresh namespace, at rate per
// second (0: all at once), and waits for their deployed events.
func (p *submitBench) run(name string, n int, rate float64, timeout time.Duration) regime {
	p.b.Helper()
	ns := "bench-" + name
	kubetest.CreateNamespace(p.b, p.cs, ns)
	ids := make([]string, n)
	index := make(map[string]int, n)
	for j := range n {
		ids[j] = fmt.Sprintf("job-%04d", j)
		index[ns+"-"+ids[j]] = j
	}
	sent := make([]time.Time, n)
	p.trips.reset()
	cpu0 := readCPU(p.b)
	apply0 := p.applyStats()

	start := time.Now()
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		for j := range n {
			if rate > 0 {
				time.Sleep(time.Until(start.Add(time.Duration(float64(j) / rate * float64(time.Second)))))
			}
			sent[j] = time.Now()
			p.produce(ns, ids[j])
		}
	}()
	at := make([]time.Time, n)
	lags := make([]time.Duration, 0, n)
	deadline := time.After(timeout)
	for got := 0; got < n; {
		select {
		case r := <-p.results:
			if r.err != nil {
				p.b.Fatalf("%s: %v", name, r.err)
			}
			j, ok := index[r.requestID]
			if !ok || !at[j].IsZero() {
				continue // another regime's, or a redelivery
			}
			at[j] = r.at
			lags = append(lags, r.received.Sub(r.at))
			got++
		case <-deadline:
			p.b.Fatalf("%s: %d of %d deployed within %v", name, len(lags), n, timeout)
		}
	}
	<-produced
	res := regime{name: name, n: n, rate: rate, lags: lags, cpu: readCPU(p.b).sub(cpu0)}
	res.requests, res.trips = p.trips.snapshot()
	sum, count := p.applyStats().sub(apply0)
	if count > 0 {
		res.applyMean = time.Duration(sum / count * float64(time.Second))
	}
	last := start
	for j := range n {
		res.latencies = append(res.latencies, at[j].Sub(sent[j]))
		if at[j].After(last) {
			last = at[j]
		}
	}
	res.throughput = float64(n) / last.Sub(start).Seconds()
	slices.Sort(res.latencies)
	slices.Sort(res.lags)
	return res
}

// applyStats reads the API server's apiserver_request_duration_seconds sum
// and count over every APPLY request.
func (p *submitBench) applyStats() applyStats {
	p.b.Helper()
	raw, err := p.cs.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		p.b.Fatalf("reading the API server's /metrics: %v", err)
	}
	var s applyStats
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, `verb="APPLY"`) {
			continue
		}
		var dst *float64
		switch {
		case strings.HasPrefix(line, "apiserver_request_duration_seconds_sum{"):
			dst = &s.sum
		case strings.HasPrefix(line, "apiserver_request_duration_seconds_count{"):
			dst = &s.count
		default:
			continue
		}
		if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
			*dst += v
		}
	}
	return s
}

type applyStats struct{ sum, count float64 }

func (s applyStats) sub(o applyStats) (float64, float64) { return s.sum - o.sum, s.count - o.count }

// tripRecorder counts a client's requests by verb and resource and times
// each round trip (the client-side rate limiter waits before it).
type tripRecorder struct {
	mu     sync.Mutex
	counts map[string]int
	trips  []time.Duration
	n      atomic.Int64
}

func (t *tripRecorder) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		began := time.Now()
		resp, err := rt.RoundTrip(req)
		d := time.Since(began)
		key := req.Method + " " + resourceOf(req.URL.Path)
		if req.Method == http.MethodPatch && req.Header.Get("Content-Type") == "application/apply-patch+yaml" {
			key = "APPLY " + resourceOf(req.URL.Path)
		}
		t.mu.Lock()
		if t.counts == nil {
			t.counts = map[string]int{}
		}
		t.counts[key]++
		t.trips = append(t.trips, d)
		t.mu.Unlock()
		return resp, err
	})
}

func (t *tripRecorder) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.counts, t.trips = nil, nil
}

func (t *tripRecorder) snapshot() (map[string]int, []time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	trips := slices.Clone(t.trips)
	slices.Sort(trips)
	return maps.Clone(t.counts), trips
}

// resourceOf returns the resource of an API path: /api/v1/namespaces/x/services/y -> services.
func resourceOf(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	for i, s := range parts {
		if s == "namespaces" && i+2 < len(parts) {
			return parts[i+2]
		}
	}
	return parts[len(parts)-1]
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// cpuTimes are CPU seconds (user + system) of the control plane's
// processes and of this test process.
type cpuTimes struct{ apiServer, etcd, self float64 }

func (c cpuTimes) sub(o cpuTimes) cpuTimes {
	return cpuTimes{c.apiServer - o.apiServer, c.etcd - o.etcd, c.self - o.self}
}

// readCPU reads the CPU time of this process and of its children named
// kube-apiserver and etcd from /proc (Linux, 100 clock ticks a second).
func readCPU(b *testing.B) cpuTimes {
	b.Helper()
	var c cpuTimes
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		c.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	self := strconv.Itoa(os.Getpid())
	for _, path := range stats {
		raw, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ... utime(14) stime(15)
		open, end := bytes.IndexByte(raw, '('), bytes.LastIndexByte(raw, ')')
		if open < 0 || end < open {
			continue
		}
		comm := string(raw[open+1 : end])
		f := strings.Fields(string(raw[end+2:]))
		if len(f) < 13 || f[1] != self {
			continue
		}
		ut, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		switch comm {
		case "kube-apiserver":
			c.apiServer += (ut + st) / 100
		case "etcd":
			c.etcd += (ut + st) / 100
		}
	}
	return c
}

// percentile returns the q-th percentile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, q int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*q + 99) / 100
	return sorted[max(0, min(i, len(sorted))-1)]
}

// defaultOf returns the default of a SubmitConfig field from its struct tag,
// so the benchmark follows the worker's defaults.
func defaultOf[T int | float64](b *testing.B, field string) T {
	b.Helper()
	f, ok := reflect.TypeFor[SubmitConfig]().FieldByName(field)
	if !ok {
		b.Fatalf("SubmitConfig has no field %s", field)
	}
	v, err := strconv.ParseFloat(f.Tag.Get("default"), 64)
	if err != nil {
		b.Fatalf("default of %s: %v", field, err)
	}
	return T(v)
}

func benchString(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func benchInt(key string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(key)); err == nil && v > 0 {
		return v
	}
	return def
}

func benchFloat(key string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(key), 64); err == nil && v != 0 {
		return v
	}
	return def
}

func benchDuration(key string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(key)); err == nil && v > 0 {
		return v
	}
	return def
}
