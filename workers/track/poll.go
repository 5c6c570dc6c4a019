package track

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/flinkferry/flinkferry/internal/flinkrest"
)

// pollResult is one finished poll of one JobManager.
type pollResult struct {
	kind     string // job_status or cluster_metric
	endpoint string
	at       time.Time
	jobs     []flinkrest.JobOverview
	overview *flinkrest.ClusterOverview
	jmConfig map[string]string
	cps      map[string]*flinkrest.CheckpointStats
	err      error
}

const (
	kindStatus = "job_status"
	kindMetric = "cluster_metric"
)

// poller runs queued poll tasks until ctx ends; Concurrency of them run,
// so at most that many requests are in flight and their goroutines (and
// grown stacks) are reused rather than started per poll.
func (t *Tracker) poller(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-t.tasks:
			t.poll(ctx, p)
		}
	}
}

// poll runs the polls of p and hands their results to the loop. A
// JobManager that did not answer the job-status poll is not asked for its
// metrics in the same turn: the metric result carries the same error.
func (t *Tracker) poll(ctx context.Context, p pollTask) {
	var statusErr error
	if p.status {
		r := pollResult{kind: kindStatus, endpoint: p.endpoint}
		begin := time.Now()
		r.jobs, r.err = t.flink.JobsOverview(ctx, p.endpoint)
		statusErr = r.err
		t.finish(ctx, r, begin)
	}
	if !p.metric {
		return
	}
	r := pollResult{kind: kindMetric, endpoint: p.endpoint}
	if statusErr != nil && (flinkrest.IsUnavailable(statusErr) || errors.Is(statusErr, context.DeadlineExceeded)) {
		r.err, r.at = statusErr, t.now()
		t.send(ctx, r)
		return
	}
	begin := time.Now()
	mctx, cancel := context.WithTimeout(ctx, t.cfg.ClusterMetricTimeout)
	defer cancel()
	r.overview, r.err = t.flink.Overview(mctx, p.endpoint)
	if r.err == nil && !p.haveConf {
		if conf, err := t.flink.JobManagerConfig(mctx, p.endpoint); err == nil {
			r.jmConfig = cachedConfig(conf)
		}
	}
	if (r.err == nil || p.final) && len(p.jobIDs) > 0 {
		r.cps = make(map[string]*flinkrest.CheckpointStats, len(p.jobIDs))
		for _, id := range p.jobIDs {
			if cp, err := t.flink.LatestCheckpoints(mctx, p.endpoint, id); err == nil {
				r.cps[id] = cp
			}
		}
	}
	t.finish(ctx, r, begin)
}

// cachedConfigKeys are the JobManager configuration entries the tracker
// reads; only they are cached (a full configuration is a few KiB, times
// 10,000 JobManagers).
var cachedConfigKeys = []string{"jobmanager.memory.process.size", "taskmanager.memory.process.size"}

// cachedConfig returns the entries of conf the tracker keeps (never nil).
func cachedConfig(conf map[string]string) map[string]string {
	out := make(map[string]string, len(cachedConfigKeys))
	for _, k := range cachedConfigKeys {
		if v, ok := conf[k]; ok {
			out[k] = v
		}
	}
	return out
}

// finish records a poll's latency and error, and hands it to the loop.
func (t *Tracker) finish(ctx context.Context, r pollResult, begin time.Time) {
	t.m.pollSeconds.WithLabelValues(r.kind).Observe(time.Since(begin).Seconds())
	if r.err != nil && !errors.Is(r.err, context.Canceled) { // a poll cut by shutdown did not fail
		t.m.pollErrors.WithLabelValues(r.kind, errorReason(r.err)).Inc()
	}
	r.at = t.now()
	t.send(ctx, r)
}

func (t *Tracker) send(ctx context.Context, r pollResult) {
	select {
	case t.results <- r:
	case <-ctx.Done():
	}
}

// errorReason is the reason label of a failed poll; pollErrors' help
// lists them. The checks go from the most specific: a 2xx answer that is
// not Flink's JSON is decode (flinkrest.IsUnavailable calls it
// unavailable too, as retrying may help), an HTTP status is http_5xx or
// http_4xx, no answer in time is timeout, and what remains of
// IsUnavailable is a connection that failed: refused or reset, DNS
// failure, host or network unreachable, an answer cut short.
func errorReason(err error) string {
	var fe *flinkrest.Error
	var de *flinkrest.DecodeError
	var ne net.Error
	switch {
	case errors.As(err, &de):
		return "decode"
	case errors.As(err, &fe) && fe.StatusCode >= 500:
		return "http_5xx"
	case errors.As(err, &fe):
		return "http_4xx"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case flinkrest.IsUnavailable(err):
		return "unavailable"
	}
	return "other"
}
