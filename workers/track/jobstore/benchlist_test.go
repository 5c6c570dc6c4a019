package jobstore

import (
	"context"
	"fmt"
	"testing"

	"github.com/flinkferry/flinkferry/messages"
)

// BenchmarkList measures what `flinkferry status` costs: List of every
// job and of one state, and Count, with 10,000 jobs on 128 shards (one
// pipelined command per shard, then one HMGET per job listed).
func BenchmarkList(b *testing.B) {
	const jobs = 10000
	s := newStore(b, client(b), Options{})
	for i := range jobs {
		register(b, s, deployed("ns", fmt.Sprintf("job-%05d", i), "r", t0), t0)
	}
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		f    Filter
		want int
	}{
		{"all", Filter{}, jobs},
		{"state", Filter{State: messages.StateStarting, Namespace: "ns"}, jobs},
		{"none", Filter{State: messages.StateRunning}, 0},
	} {
		b.Run(tt.name, func(b *testing.B) {
			for b.Loop() {
				js, err := s.List(ctx, tt.f)
				if err != nil || len(js) != tt.want {
					b.Fatalf("List() = %d jobs, %v; want %d", len(js), err, tt.want)
				}
			}
		})
	}
	b.Run("count", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Count(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
