package submit

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/internal/ops"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/internal/worker"
	"github.com/flinkferry/flinkferry/messages"
)

// BenchmarkSubmit sends image built events (200 by default; the issue asks
// for 1,000, which did not finish in 10 minutes yet: see BENCHMARKS.md) through one submit worker
// replica (kfake, 6 partitions) to the real local API server and reports
// the latency from producing the event to all objects applied (the
// deployed event's time), p50 and p99, and the throughput.
func BenchmarkSubmit(b *testing.B) {
	n := benchN()
	k := testenv.Kafka(b)
	cp := kubetest.Shared(b)
	rc := cp.Config()
	rc.QPS, rc.Burst = 50, 100 // as the worker's defaults
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	cfg := Config{Common: k.WorkerCommon()}
	topics := cfg.Kafka.Topics()
	for i := range b.N {
		ns := fmt.Sprintf("bench-%d", i)
		kubetest.CreateNamespace(b, cs, ns)
		clusters := &Clusters{}
		clusters.Add(ClusterConfig{Name: "default", Default: true, AllowedNamespaces: []string{ns}, AllowedServiceAccounts: []string{"default"}, RestAccess: RestAccessAuto}, cs)
		spec := Spec(cfg, clusters)
		spec.Logger = slog.New(slog.DiscardHandler)
		spec.Ops = ops.New(spec.Logger)
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- worker.Run(runCtx, spec) }()

		sent := map[string]time.Time{}
		client := k.Client(b)
		start := time.Now()
		for j := range n {
			id := fmt.Sprintf("job-%04d", j)
			ev := imageBuilt(messages.ModeApplication, func(r *messages.SubmitRequested) {
				r.Job = messages.JobRef{Namespace: ns, ClusterID: id}
				r.RequestID = ns + "-" + id
			})
			ev.Job, ev.RequestID, ev.JarSHA256, ev.Time = ev.Request.Job, ev.Request.RequestID, "5f51cb089dffd25034b0a897c81ff9ceab826802ad66d333d2e06ca30a6b6480", time.Now()
			key, headers, value, err := messages.Encode(ev, messages.Envelope{Source: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			sent[ev.RequestID] = time.Now()
			produceAsync(client, topics.ImageBuilt, key, value, headers)
		}
		if err := client.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		recs := k.Consume(b, topics.Deployed, (i+1)*n, 10*time.Minute)
		elapsed := time.Since(start)
		var lat []time.Duration
		for _, r := range recs {
			ev, _, err := messages.DecodeMessage(headerMap(r), "", r.Value)
			if err != nil {
				b.Fatal(err)
			}
			d := ev.(*messages.Deployed)
			if t0, ok := sent[d.RequestID]; ok {
				lat = append(lat, d.Time.Sub(t0))
			}
		}
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		if len(lat) != n {
			b.Fatalf("deployed %d of %d", len(lat), n)
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[n/2].Milliseconds()), "p50-ms")
		b.ReportMetric(float64(lat[n*99/100].Milliseconds()), "p99-ms")
		b.ReportMetric(float64(n)/elapsed.Seconds(), "submissions/s")
	}
}

// benchN is the number of submissions (FLINKFERRY_BENCH_SUBMISSIONS, default 200).
func benchN() int {
	if v, err := strconv.Atoi(os.Getenv("FLINKFERRY_BENCH_SUBMISSIONS")); err == nil && v > 0 {
		return v
	}
	return 200
}
