package dev

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/flinkrest"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/internal/logging"
	"github.com/flinkferry/flinkferry/internal/ops"
	"github.com/flinkferry/flinkferry/internal/redisclient"
	"github.com/flinkferry/flinkferry/internal/worker"
	"github.com/flinkferry/flinkferry/workers/alert"
	"github.com/flinkferry/flinkferry/workers/build"
	"github.com/flinkferry/flinkferry/workers/submit"
	"github.com/flinkferry/flinkferry/workers/track"
)

// defaultsPrefix is an environment prefix nobody sets: envconfig then
// fills only the struct-tag defaults.
const defaultsPrefix = "FLINKFERRY_DEV_DEFAULTS_UNSET"

// Workers are the four workers running in-process.
type Workers struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	errs   []error
	// closers stop what the workers used (the alert printer) after them.
	closers []func()
}

// WorkerOptions are the optional parts of StartWorkersWith.
type WorkerOptions struct {
	// AlertOut receives one line per alert notice, from the alert
	// worker's webhook printer (discarded when nil).
	AlertOut io.Writer
	// AlertRules, when set, replace the dev rules file (channels of your
	// own: Alertmanager, email, webhooks); "{{printer}}" in it is the
	// printer's URL.
	AlertRules string
}

// StartWorkers runs the build, submit, track and alert workers in-process
// against env and kube until Stop, logging to log. Errors of a stopped
// worker are logged and returned by Stop.
func StartWorkers(env *Env, kube *Kube, log *slog.Logger) (*Workers, error) {
	return StartWorkersWith(env, kube, log, WorkerOptions{})
}

// StartWorkersWith is StartWorkers with o: the alert worker's notices are
// printed to o.AlertOut.
func StartWorkersWith(env *Env, kube *Kube, log *slog.Logger, o WorkerOptions) (*Workers, error) {
	common, err := commonConfig(env)
	if err != nil {
		return nil, err
	}
	au, err := url.Parse(env.ArtifactsURL)
	if err != nil {
		return nil, err
	}

	var bcfg build.Config
	if err := envconfig.Process(defaultsPrefix, &bcfg); err != nil {
		return nil, fmt.Errorf("build defaults: %w", err)
	}
	bcfg.Common = common
	bcfg.Build.Registry, bcfg.Build.RegistryInsecure = env.Registry, true
	bcfg.Build.RegistryUsername, bcfg.Build.RegistryPassword, bcfg.Build.DockerConfig = "", "", ""
	bcfg.Build.DefaultBaseImage = env.BaseImage()
	bcfg.Build.ArtifactAllowedHosts = []string{au.Host}
	bcfg.Build.ClustersFile = ""
	bcfg.Build.AllowedNamespaces, bcfg.Build.AllowedServiceAccounts = []string{Namespace}, []string{"default"}
	bcfg.Build.WorkDir = ""
	// The same request id with other content is refused before the build.
	bcfg.Build.RequestHashes = true
	bcfg.Redis = redisclient.Config{URL: env.RedisURL, Timeout: 3 * time.Second}

	var scfg submit.Config
	if err := envconfig.Process(defaultsPrefix, &scfg); err != nil {
		return nil, fmt.Errorf("submit defaults: %w", err)
	}
	scfg.Common = common
	scfg.Submit.Kubeconfig, scfg.Submit.ClustersFile = "", ""
	scfg.Submit.AllowedNamespaces, scfg.Submit.AllowedServiceAccounts = []string{Namespace}, []string{"default"}
	scfg.Submit.Registry, scfg.Submit.RegistryInsecure = env.Registry, true
	scfg.Submit.RegistryUsername, scfg.Submit.RegistryPassword, scfg.Submit.DockerConfig = "", "", ""
	// On a real cluster dev runs outside it: JobManagers are reached
	// through the API server's service proxy, not cluster DNS.
	access := kubeclusters.RestAccessAuto
	if kube.Kind == KubeReal {
		access = kubeclusters.RestAccessProxy
	}
	subClusters := &kubeclusters.Set{}
	subClusters.Add(kubeclusters.Config{Name: "default", Default: true, RestAccess: access,
		AllowedNamespaces: []string{Namespace}, AllowedServiceAccounts: []string{"default"}}, kube.Client)
	so := submit.Overrides{Clusters: subClusters}
	if kube.FlinkHTTP != nil {
		so.Flink = flinkrestClient(kube)
	}

	var tcfg track.Config
	if err := envconfig.Process(defaultsPrefix, &tcfg); err != nil {
		return nil, fmt.Errorf("track defaults: %w", err)
	}
	tcfg.Common = common
	tcfg.Redis = redisclient.Config{URL: env.RedisURL, Timeout: 3 * time.Second}
	tcfg.Track.Kubeconfig, tcfg.Track.ClustersFile = "", ""
	tcfg.Track.Namespaces = []string{Namespace}
	tcfg.Track.JobStatusInterval, tcfg.Track.RequestTimeout = time.Second, 800*time.Millisecond
	tcfg.Track.ClusterMetricInterval = 2 * time.Second
	trClusters := &kubeclusters.Set{}
	trClusters.Add(kubeclusters.Config{Name: "default", Default: true, RestAccess: access,
		AllowedNamespaces: []string{Namespace}}, kube.Client)

	printer, err := startPrinter(o.AlertOut)
	if err != nil {
		return nil, err
	}
	acfg, err := alertConfig(common, env, printer.url, o.AlertRules)
	if err != nil {
		printer.close()
		return nil, err
	}

	for _, v := range []worker.Validator{bcfg, scfg, tcfg, acfg} {
		if err := v.Validate(); err != nil {
			printer.close()
			return nil, fmt.Errorf("dev worker configuration: %w", err)
		}
	}
	specs := []worker.Spec{
		build.Spec(bcfg),
		submit.SpecWith(scfg, so),
		track.Spec(tcfg, track.Overrides{Clusters: trClusters, HTTPClient: kube.FlinkHTTP}),
		alert.Spec(acfg, alert.Overrides{}),
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &Workers{cancel: cancel, closers: []func(){printer.close}}
	for _, s := range specs {
		s.Logger = log.With("worker", s.Name)
		s.Ops = ops.New(s.Logger)
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			if err := worker.Run(ctx, s); err != nil && ctx.Err() == nil {
				log.Error("worker stopped", "worker", s.Name, "error", err)
				w.mu.Lock()
				w.errs = append(w.errs, fmt.Errorf("%s worker: %w", s.Name, err))
				w.mu.Unlock()
			}
		}()
	}
	return w, nil
}

// Stop stops the workers and waits for them; it returns the errors of
// workers that had stopped on their own.
func (w *Workers) Stop() error {
	w.cancel()
	w.wg.Wait()
	for _, c := range w.closers {
		c()
	}
	w.closers = nil
	w.mu.Lock()
	defer w.mu.Unlock()
	return joinErrs(w.errs)
}

// commonConfig is the shared worker configuration for env: its brokers,
// one-partition-friendly topic creation, quick consumer groups.
func commonConfig(env *Env) (worker.Common, error) {
	var c worker.Common
	if err := envconfig.Process(defaultsPrefix, &c); err != nil {
		return c, fmt.Errorf("worker defaults: %w", err)
	}
	c.Kafka.Brokers, c.Kafka.TopicPrefix = env.KafkaBrokers, TopicPrefix
	c.Kafka.SASL, c.Kafka.TLS = bus.SASLConfig{}, bus.TLSConfig{}
	c.Kafka.CreateTopics, c.Kafka.Partitions, c.Kafka.ReplicationFactor = true, 6, 1
	c.Kafka.SessionTimeout, c.Kafka.HeartbeatInterval, c.Kafka.RebalanceTimeout = 6*time.Second, 300*time.Millisecond, 10*time.Second
	c.Log.Level, c.Log.Format = "warn", "text"
	return c, nil
}

func joinErrs(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return errors.Join(errs...)
}

func flinkrestClient(k *Kube) *flinkrest.Client {
	return flinkrest.New(flinkrest.Options{HTTPClient: k.FlinkHTTP, UserAgent: "flinkferry-submit"})
}

// BusConfig returns the Kafka configuration the dev workers use for env.
func BusConfig(env *Env) (bus.Config, error) {
	c, err := commonConfig(env)
	return c.Kafka, err
}

// devRules are the alert worker's rules in dev: every notice goes to the
// terminal printer.
const devRules = `channels:
  - {name: terminal, url: %q, template: json}
rules:
  - {name: job-failed, severity: critical, match: {to: [FAILED, LOST, DEPLOY_FAILED]}, channels: [terminal]}
  - {name: job-restarting, severity: warning, match: {to: [RESTARTING]}, channels: [terminal]}
  - {name: operation-failed, severity: warning, match: {operation_failed: true}, channels: [terminal]}
  - {name: slow-start, severity: warning, condition: {not_running_after: 2m}, channels: [terminal]}
`

// alertConfig is the alert worker's configuration in dev: a rules file
// (in a temporary directory removed with the process' other temporary
// files: written next to the artifacts) sending to printerURL, no rate
// limit, quick evaluation.
func alertConfig(common worker.Common, env *Env, printerURL, rules string) (alert.Config, error) {
	var c alert.Config
	if err := envconfig.Process(defaultsPrefix, &c); err != nil {
		return c, fmt.Errorf("alert defaults: %w", err)
	}
	c.Common = common
	c.Redis = redisclient.Config{URL: env.RedisURL, Timeout: 3 * time.Second}
	path := filepath.Join(env.ArtifactsDir, ".alert-rules.yaml")
	data := fmt.Appendf(nil, devRules, printerURL)
	if rules != "" {
		data = []byte(strings.ReplaceAll(rules, "{{printer}}", printerURL))
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return c, fmt.Errorf("writing the dev alert rules: %w", err)
	}
	c.Alert.RulesFile = path
	c.Alert.MinInterval = 0
	c.Alert.EvaluateInterval = 5 * time.Second
	c.Alert.RetryBudget = 5 * time.Second
	return c, nil
}

// printer is the dev alert receiver: an HTTP server on loopback taking the
// JSON template's notices and printing one line each.
type printer struct {
	url   string
	close func()
}

// startPrinter serves the webhook printer, writing to out (nil discards).
func startPrinter(out io.Writer) (*printer, error) {
	if out == nil {
		out = io.Discard
	}
	var mu sync.Mutex
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n struct {
			Summary  string `json:"summary"`
			WebUIURL string `json:"web_ui_url"`
			Message  string `json:"message"`
			Status   string `json:"status"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&n); err != nil {
			http.Error(w, "not a notice", http.StatusBadRequest)
			return
		}
		line := "alert: " + n.Summary
		if n.WebUIURL != "" {
			line += "  " + n.WebUIURL
		}
		if first, _, _ := strings.Cut(n.Message, "\n"); first != "" && n.Status == alert.StatusFiring {
			line += "\n       " + logging.Truncate(first, 200)
		}
		mu.Lock()
		fmt.Fprintln(out, line)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	addr, stop, err := serve(0, 0, h)
	if err != nil {
		return nil, fmt.Errorf("starting the alert printer: %w", err)
	}
	return &printer{url: "http://" + addr + "/alerts", close: stop}, nil
}
