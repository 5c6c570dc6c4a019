package main

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/messages"
)

// failBurst measures issue 6's failure burst: one worker replica tracks
// jobs jobs; count of them fail at once in the simulator; the time from
// that instant until every one's FAILED status event is on the status
// topic (its record timestamp, set by the worker's producer) and until a
// consumer has read it. It prints the result as a markdown table.
func (e *env) failBurst(ctx context.Context, jobs, count int) error {
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(6), kfake.AllowAutoTopicCreation())
	if err != nil {
		return fmt.Errorf("starting kfake: %w", err)
	}
	defer kc.Close()
	brokers := kc.ListenAddrs()
	topic := bus.Config{TopicPrefix: "flinkferry."}.Topics().Status
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.AllowAutoTopicCreation())
	if err != nil {
		return fmt.Errorf("creating consumer: %w", err)
	}
	defer cl.Close()

	m := methods["worker"]
	if err := e.redis.flush(ctx); err != nil {
		return err
	}
	cfg := loopConfig{
		Sims: e.sims.addrs(), Redis: e.redisAddr, Jobs: jobs, Interval: e.cfg.interval,
		MetricInterval: e.cfg.metricInterval, PerHost: true, Concurrency: e.cfg.concurrency, Timeout: 3 * time.Second,
	}
	if err := m.prepare(ctx, e.rdb, cfg); err != nil {
		return err
	}
	args := append(append([]string{"worker"}, cfg.args()...), "-brokers", strings.Join(brokers, ","))
	c, err := startChild(filepath.Join(e.cfg.logDir, fmt.Sprintf("burst-%d-%d.log", jobs, count)), args)
	if err != nil {
		return err
	}
	defer c.stop()
	if err := sleep(ctx, e.cfg.warmup, []*child{c}); err != nil {
		return err
	}

	failing := map[string]bool{}
	for i := range count {
		failing[jobKey(i)] = true
	}
	t0, err := e.sims.fail(0, count)
	if err != nil {
		return err
	}
	var published, consumed []float64
	seen := map[string]bool{}
	deadline := time.Now().Add(e.cfg.interval + 60*time.Second)
	for len(seen) < count && time.Now().Before(deadline) {
		pctx, cancel := context.WithDeadline(ctx, deadline)
		fetches := cl.PollFetches(pctx)
		cancel()
		now := time.Now()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fetches.EachRecord(func(r *kgo.Record) {
			hs := map[string]string{}
			for _, h := range r.Headers {
				hs[h.Key] = string(h.Value)
			}
			ev, _, err := messages.DecodeMessage(hs, "", r.Value)
			if err != nil {
				return
			}
			ch, ok := ev.(*messages.JobStatusChanged)
			if !ok || ch.To != messages.StateFailed || !failing[ch.Job.Key()] || seen[ch.Job.Key()] {
				return
			}
			seen[ch.Job.Key()] = true
			published = append(published, r.Timestamp.Sub(t0).Seconds())
			consumed = append(consumed, now.Sub(t0).Seconds())
		})
	}
	fmt.Printf("\n%d of %d jobs fail at once (one replica, per-JobManager hosts, interval %s); time from the failure to the FAILED status event:\n\n",
		count, jobs, e.cfg.interval)
	fmt.Println("| events | published p50 | published max | consumed max | target |")
	fmt.Println("|---|---|---|---|---|")
	target := (e.cfg.interval + 3*time.Second).Seconds()
	last := math.Inf(1)
	if len(seen) == count {
		last = percentile(published, 100)
	}
	fmt.Printf("| %d of %d | %s | %s | %s | ≤ %.0f s (%s) |\n", len(seen), count,
		seconds(percentile(published, 50)), seconds(last), seconds(percentile(consumed, 100)),
		target, map[bool]string{true: "met", false: "missed"}[last <= target])
	return nil
}
