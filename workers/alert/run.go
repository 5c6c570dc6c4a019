package alert

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"text/template"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/redisclient"
	"github.com/flinkferry/flinkferry/internal/worker"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

// Run runs the alert worker until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	return worker.Run(ctx, Spec(cfg, Overrides{}))
}

// Overrides replace what the worker would build from its configuration
// (tests, dev mode).
type Overrides struct {
	// HTTPClient sends the webhook and Alertmanager requests.
	HTTPClient *http.Client
	// Now is the clock of the rules (time.Now when nil).
	Now func() time.Time
}

// Spec returns the worker specification.
func Spec(cfg Config, o Overrides) worker.Spec {
	return worker.Spec{
		Name:   "alert",
		Common: cfg.Common,
		Setup: func(ctx context.Context, d worker.Deps) ([]func(context.Context) error, error) {
			a := cfg.Alert
			rules, err := LoadRules(a.RulesFile)
			if err != nil {
				return nil, err
			}
			m := newMetrics(d.Ops.Registry)
			channels, err := NewChannels(rules.Channels, a, o.HTTPClient, m)
			if err != nil {
				return nil, err
			}
			rdb, err := redisclient.New(ctx, cfg.Redis)
			if err != nil {
				return nil, err
			}
			d.Ops.AddReadinessCheck("redis", func(ctx context.Context) error { return rdb.Ping(ctx).Err() })
			h := &Handler{Rules: rules.Rules, Channels: channels, Store: NewStore(rdb, a.storeOptions()), metrics: m, Now: o.Now}
			if err := bus.Handle[messages.Event](d.Router, "alert", d.Topics.Status, h.Handle); err != nil {
				rdb.Close()
				return nil, err
			}
			jobs, err := jobstore.Open(ctx, rdb, jobstore.Options{Prefix: a.TrackRedisPrefix})
			if err != nil {
				rdb.Close()
				return nil, err
			}
			h.Jobs = jobs
			loops := &Loops{Handler: h, Jobs: jobs, EvaluateInterval: a.EvaluateInterval, ResendInterval: a.ResendInterval, Log: d.Log}
			d.Log.Info("alert rules loaded", "rules", len(rules.Rules), "channels", len(channels))
			return []func(context.Context) error{loops.Run, func(ctx context.Context) error {
				<-ctx.Done()
				return rdb.Close()
			}}, nil
		},
	}
}

// NewChannels builds the channels of a rules file, reading HMAC secrets
// from their environment variables or files. reg may be nil.
func NewChannels(specs []ChannelSpec, a AlertConfig, client *http.Client, m *metrics) (map[string]Channel, error) {
	if client == nil {
		client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if m == nil {
		m = newMetrics(prometheus.NewRegistry())
	}
	out := make(map[string]Channel, len(specs))
	var errs []error
	for i, s := range specs {
		var ch Channel
		var err error
		if s.URLEnv != "" {
			v, ok := os.LookupEnv(s.URLEnv)
			if !ok || v == "" {
				errs = append(errs, fmt.Errorf("channels[%d] (%s): url_env: %s is not set", i, s.Name, s.URLEnv))
				continue
			}
			if err := checkWebhookURL(v); err != nil {
				errs = append(errs, fmt.Errorf("channels[%d] (%s): url_env: %s %w", i, s.Name, s.URLEnv, err))
				continue
			}
			s.URL = v
		}
		switch s.Type {
		case TypeAlertmanager:
			ch = newAlertmanager(s, a, client, m)
		case TypeEmail:
			ch, err = newEmail(s, a, m)
		default:
			ch, err = newWebhook(s, a, client, m)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("channels[%d] (%s): %w", i, s.Name, err))
			continue
		}
		out[s.Name] = ch
	}
	return out, errors.Join(errs...)
}

func newWebhook(s ChannelSpec, a AlertConfig, client *http.Client, m *metrics) (*Webhook, error) {
	var t *template.Template
	var err error
	if s.Body != "" {
		t, err = parseBody(s.Name, s.Body)
	} else {
		t, err = shippedTemplate(s.Template)
	}
	if err != nil {
		return nil, err
	}
	// A custom body that fails on a sample notice would fail every alert.
	if _, err := render(t, sampleNotice(), a.MaxBodyBytes); err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	var secret []byte
	switch {
	case s.SecretEnv != "":
		v, ok := os.LookupEnv(s.SecretEnv)
		if !ok || v == "" {
			return nil, fmt.Errorf("hmac.secret_env: %s is not set", s.SecretEnv)
		}
		secret = []byte(v)
	case s.SecretFile != "":
		b, err := os.ReadFile(s.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("hmac.secret_file: %w", err)
		}
		secret = []byte(strings.TrimRight(string(b), "\r\n"))
		if len(secret) == 0 {
			return nil, errors.New("hmac.secret_file: empty")
		}
	}
	return &Webhook{
		name: s.Name, url: s.URL, tmpl: t, contentType: s.ContentType, headers: s.Headers, secret: secret,
		client: client, retry: a.retry(), maxBody: a.MaxBodyBytes, metrics: m, now: time.Now, sleep: sleepCtx,
	}, nil
}

// sampleNotice is a firing notice with every field set, to try templates.
func sampleNotice() *Notice {
	t := time.Date(2026, 11, 28, 10, 0, 42, 0, time.UTC)
	return &Notice{
		Status: StatusFiring, Rule: "job-failed", Severity: "critical", Fingerprint: Fingerprint("job-failed", "/flink-jobs/wordcount"),
		Job: messages.JobRef{Namespace: "flink-jobs", ClusterID: "wordcount"}, Key: "/flink-jobs/wordcount",
		Mode: string(messages.ModeApplication), FlinkJobID: "0123456789abcdef0123456789abcdef",
		From: "RUNNING", To: "FAILED", Reason: "job_failed",
		Message:  "java.lang.RuntimeException: \"boom\" <at> line 1\n\tat WordCount.main(WordCount.java:42)",
		WebUIURL: "http://127.0.0.1:8081/flink-jobs/wordcount/", Labels: map[string]string{"team": "data", "env": "prod"},
		Time: t, StartsAt: t,
		Flink: &FlinkFacts{StartTime: t.Add(-time.Hour), EndTime: t, DurationMS: 3600000, Restarts: 3,
			CheckpointsCompleted: 58, CheckpointsFailed: 2, LastCheckpointAt: t.Add(-time.Minute),
			LastCheckpointFailedAt: t.Add(-10 * time.Minute), LastCheckpointFailure: "Checkpoint expired before completing."},
	}
}
