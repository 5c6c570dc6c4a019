package flinksim_test

import (
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/flinkferry/flinkferry/internal/flinksim"
)

// BenchmarkJobsOverview polls /jobs/overview of 1,000 clusters (one
// running job each) round-robin through a real loopback listener, the
// way a track worker polls JobManagers.
func BenchmarkJobsOverview(b *testing.B) {
	const clusters = 1000
	srv := flinksim.New(flinksim.ServerOptions{})
	urls := make([]string, clusters)
	if _, err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	for i := range urls {
		name := fmt.Sprintf("c%04d", i)
		srv.AddCluster(name, flinksim.ClusterOptions{Jobs: []flinksim.JobSpec{{
			Script: flinksim.Script{{State: flinksim.Running}},
		}}})
		urls[i] = srv.ClusterURL(name) + "/jobs/overview"
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var next atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(urls[next.Add(1)%clusters])
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkJobsOverviewHandler measures the handler alone, without HTTP.
func BenchmarkJobsOverviewHandler(b *testing.B) {
	e := newEnv(b)
	e.srv.AddCluster("c1", flinksim.ClusterOptions{Jobs: []flinksim.JobSpec{{Script: flinksim.Script{{State: flinksim.Running}}}}})
	req, _ := http.NewRequest(http.MethodGet, "/c/c1/jobs/overview", nil)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		e.srv.ServeHTTP(w, req)
	}
}

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}
