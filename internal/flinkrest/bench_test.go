package flinkrest_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/flinkferry/flinkferry/internal/flinkrest"
	"github.com/flinkferry/flinkferry/internal/flinksim"
)

// BenchmarkJobsOverview polls GET /jobs/overview of 1,000 virtual
// JobManagers (three jobs each) on one simulator, round-robin from
// parallel goroutines through one Client, the track worker's hot path.
// It reports allocations per poll (client and in-process server alike).
func BenchmarkJobsOverview(b *testing.B) {
	const clusters = 1000
	s := newSim(b, flinksim.ServerOptions{})
	bases := make([]string, clusters)
	for i := range bases {
		name := "jm-" + strconv.Itoa(i)
		s.srv.AddCluster(name, flinksim.ClusterOptions{Jobs: []flinksim.JobSpec{{}, {}, {}}})
		bases[i] = s.srv.ClusterURL(name)
	}
	c := flinkrest.New(flinkrest.Options{})
	ctx := context.Background()
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			jobs, err := c.JobsOverview(ctx, bases[next.Add(1)%clusters])
			if err != nil || len(jobs) != 3 {
				b.Errorf("JobsOverview() = %d jobs, %v", len(jobs), err)
				return
			}
		}
	})
}
