package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// tick is the resolution of the bare loop's schedule, the track worker's
// own: job i is polled in slot i mod (interval / tick), and each tick's
// results are written to Redis in one pipeline.
const tick = 250 * time.Millisecond

// loopConfig is what a measured child (bare loop or worker) is told.
type loopConfig struct {
	Sims           []string // simulator processes' host:port
	Redis          string   // redis host:port
	Jobs           int
	Interval       time.Duration // job status (GET /jobs/overview)
	MetricInterval time.Duration // cluster metrics (GET /overview)
	PerHost        bool          // a host name per JobManager instead of a shared host
	Concurrency    int           // Flink REST requests in flight
	Timeout        time.Duration // one Flink REST request
	Checkpoints    bool          // also GET /jobs/{id}/checkpoints with the metrics (bare loop)
}

func (c *loopConfig) flags(fs *flag.FlagSet) {
	fs.Func("sims", "simulator processes' host:port, comma-separated", func(v string) error {
		c.Sims = strings.Split(v, ",")
		return nil
	})
	fs.StringVar(&c.Redis, "redis", "", "redis host:port")
	fs.IntVar(&c.Jobs, "jobs", 1000, "jobs (virtual JobManagers jm00000...) to poll")
	fs.DurationVar(&c.Interval, "interval", 5*time.Second, "job status poll interval")
	fs.DurationVar(&c.MetricInterval, "metric-interval", 10*time.Second, "cluster metric poll interval")
	fs.BoolVar(&c.PerHost, "per-host", true, "reach each JobManager under its own host name (else one shared host, path-routed)")
	fs.IntVar(&c.Concurrency, "concurrency", 256, "Flink REST requests in flight at once")
	fs.DurationVar(&c.Timeout, "timeout", 3*time.Second, "timeout of one Flink REST request")
	fs.BoolVar(&c.Checkpoints, "checkpoints", false, "bare loop: also read each job's checkpoints with its metrics, as the track worker does")
}

// args is the command line that sets c in a child.
func (c loopConfig) args() []string {
	return []string{
		"-sims", strings.Join(c.Sims, ","), "-redis", c.Redis, "-jobs", strconv.Itoa(c.Jobs),
		"-interval", c.Interval.String(), "-metric-interval", c.MetricInterval.String(),
		"-per-host=" + strconv.FormatBool(c.PerHost), "-concurrency", strconv.Itoa(c.Concurrency),
		"-timeout", c.Timeout.String(),
	}
}

// httpClient returns the bare loop's client. Idle connections are not
// capped in total, so in per-host mode each JobManager keeps its own
// connection between polls, as it would against a fleet of Services.
// JobManager host names resolve to the simulator (useSimResolver).
func (c loopConfig) httpClient() *http.Client {
	perHostIdle := 2
	if !c.PerHost {
		perHostIdle = c.Concurrency
	}
	return &http.Client{
		Timeout: c.Timeout,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: c.Timeout, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        0, // no total cap
			MaxIdleConnsPerHost: perHostIdle,
			IdleConnTimeout:     90 * time.Second,
		},
	}
}

// bareKey is the Redis hash of job i written by the bare loop.
func bareKey(i int) string { return "bare:job:" + clusterName(i) }

// runBare is the physical reference: a plain loop that polls every
// JobManager's /jobs/overview each Interval and /overview each
// MetricInterval, spread evenly over ticks, decodes the JSON and writes
// state, last poll and metrics to one Redis hash per job with a pipelined
// HSET per tick.
func runBare(ctx context.Context, args []string) error {
	var cfg loopConfig
	fs := flag.NewFlagSet("bare", flag.ContinueOnError)
	cfg.flags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	useSimResolver()
	rdb := redis.NewClient(&redis.Options{Addr: cfg.Redis, ContextTimeoutEnabled: true})
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("connecting to redis: %w", err)
	}
	b := &bareLoop{cfg: cfg, client: cfg.httpClient(), rdb: rdb, sem: make(chan struct{}, cfg.Concurrency)}
	for i := range cfg.Jobs {
		b.bases = append(b.bases, clusterBase(cfg.Sims, i, cfg.PerHost))
	}
	b.run(ctx)
	slog.Info("bare loop stopped", "polls", b.polls.Load(), "errors", b.errors.Load())
	return nil
}

type bareLoop struct {
	cfg    loopConfig
	client *http.Client
	rdb    *redis.Client
	sem    chan struct{}
	bases  []string

	polls, errors atomic.Int64
}

func (b *bareLoop) run(ctx context.Context) {
	statusSlots := max(int(b.cfg.Interval/tick), 1)
	metricSlots := max(int(b.cfg.MetricInterval/tick), 1)
	t := time.NewTicker(tick)
	defer t.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for k := 0; ; k++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		wg.Go(func() { b.tick(ctx, k%statusSlots, statusSlots, k%metricSlots, metricSlots) })
	}
}

// tick polls the jobs of status slot s and metric slot m, then writes
// every result in one pipeline.
func (b *bareLoop) tick(ctx context.Context, s, statusSlots, m, metricSlots int) {
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		updates = map[int][]any{}
	)
	add := func(i int, fields ...any) {
		mu.Lock()
		updates[i] = append(updates[i], fields...)
		mu.Unlock()
	}
	// A JobManager due for both polls gets them one after the other on
	// one goroutine, so it never needs a second connection.
	due := map[int][]func(ctx context.Context, i int) ([]any, error){}
	for i := s; i < b.cfg.Jobs; i += statusSlots {
		due[i] = append(due[i], b.pollStatus)
	}
	for i := m; i < b.cfg.Jobs; i += metricSlots {
		due[i] = append(due[i], b.pollMetrics)
	}
	for i, polls := range due {
		select {
		case b.sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		wg.Go(func() {
			defer func() { <-b.sem }()
			for _, f := range polls {
				fields, err := f(ctx, i)
				b.polls.Add(1)
				if err != nil {
					b.errors.Add(1)
					continue
				}
				add(i, fields...)
			}
		})
	}
	wg.Wait()
	if len(updates) == 0 {
		return
	}
	_, err := b.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, fields := range updates {
			p.HSet(ctx, bareKey(i), fields...)
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		slog.Warn("writing to redis", "err", err)
	}
}

type jobsOverview struct {
	Jobs []struct {
		JID   string         `json:"jid"`
		State string         `json:"state"`
		Tasks map[string]int `json:"tasks"`
	} `json:"jobs"`
}

type clusterOverview struct {
	TaskManagers   int    `json:"taskmanagers"`
	SlotsTotal     int    `json:"slots-total"`
	SlotsAvailable int    `json:"slots-available"`
	JobsRunning    int    `json:"jobs-running"`
	FlinkVersion   string `json:"flink-version"`
}

func (b *bareLoop) pollStatus(ctx context.Context, i int) ([]any, error) {
	var o jobsOverview
	if err := b.getJSON(ctx, b.bases[i]+"/jobs/overview", &o); err != nil {
		return nil, err
	}
	if len(o.Jobs) == 0 {
		return nil, fmt.Errorf("%s: no job", clusterName(i))
	}
	j := o.Jobs[0]
	return []any{"jid", j.JID, "state", j.State, "tasks_running", j.Tasks["running"],
		"last_poll", time.Now().UnixMilli()}, nil
}

func (b *bareLoop) pollMetrics(ctx context.Context, i int) ([]any, error) {
	var o clusterOverview
	if err := b.getJSON(ctx, b.bases[i]+"/overview", &o); err != nil {
		return nil, err
	}
	fields := []any{"taskmanagers", o.TaskManagers, "slots_total", o.SlotsTotal,
		"slots_available", o.SlotsAvailable, "flink_version", o.FlinkVersion,
		"last_metrics_poll", time.Now().UnixMilli()}
	if b.cfg.Checkpoints {
		var cp checkpoints
		if err := b.getJSON(ctx, b.bases[i]+"/jobs/"+jobID(i)+"/checkpoints", &cp); err != nil {
			return nil, err
		}
		fields = append(fields, "checkpoints_completed", cp.Counts.Completed, "checkpoints_failed", cp.Counts.Failed)
		if cp.Latest.Completed != nil {
			fields = append(fields, "last_checkpoint_id", cp.Latest.Completed.ID)
		}
	}
	return fields, nil
}

// checkpoints is what the bare loop reads of /jobs/{id}/checkpoints.
type checkpoints struct {
	Counts struct {
		Completed int `json:"completed"`
		Failed    int `json:"failed"`
	} `json:"counts"`
	Latest struct {
		Completed *struct {
			ID int `json:"id"`
		} `json:"completed"`
	} `json:"latest"`
}

func (b *bareLoop) getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	defer func() {
		// Drained to EOF, the connection is reused.
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
