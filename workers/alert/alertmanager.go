package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// AlertmanagerPath is where an Alertmanager takes alerts (API v2).
const AlertmanagerPath = "/api/v2/alerts"

// Alertmanager pushes notices to an Alertmanager's API v2 as alerts, so
// its routing, grouping, inhibition and silences apply. A firing alert's
// endsAt is set EndsAfter ahead and the alert is posted again every resend
// interval while it fires (Resend), as Prometheus does; a resolved notice
// posts the same labels with endsAt = the resolution time.
type Alertmanager struct {
	name    string
	url     string // base URL + AlertmanagerPath
	headers map[string]string
	client  *http.Client
	retry   Retry
	metrics *metrics
	now     func() time.Time
	sleep   func(ctx context.Context, d time.Duration) error
	// endsAfter is how far ahead of now a firing alert's endsAt is set:
	// long enough to outlive a few missed resends, short enough that an
	// alert whose worker died resolves itself.
	endsAfter time.Duration
}

func newAlertmanager(s ChannelSpec, c AlertConfig, client *http.Client, m *metrics) *Alertmanager {
	u := strings.TrimRight(s.URL, "/")
	if !strings.HasSuffix(u, AlertmanagerPath) {
		u += AlertmanagerPath
	}
	return &Alertmanager{name: s.Name, url: u, headers: s.Headers, client: client, retry: c.retry(), metrics: m,
		now: time.Now, sleep: sleepCtx, endsAfter: 4 * c.ResendInterval}
}

// Name returns the channel's name.
func (a *Alertmanager) Name() string { return a.name }

// PostableAlert is one alert of Alertmanager's POST /api/v2/alerts body.
type PostableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt,omitzero"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// labelNameInvalid matches what a Prometheus label name may not contain.
var labelNameInvalid = regexp.MustCompile(`[^a-zA-Z0-9_]`)

// ownLabels are the labels flinkferry sets; a job label of the same name
// is dropped rather than allowed to change the alert's identity.
var ownLabels = []string{"alertname", "severity", "kube_cluster", "namespace", "cluster_id", "job_key", "mode", "flinkferry_fingerprint"}

// AlertmanagerAlert is the alert of notice n at now. Its labels identify
// the alert and stay the same from firing to resolved (alertname = the
// rule, severity, the job's identity and mode, the job's labels with
// their names made valid); what changes (state, reason, message) is in
// the annotations. endsAfter is the firing alert's validity.
func AlertmanagerAlert(n *Notice, now time.Time, endsAfter time.Duration) PostableAlert {
	l := map[string]string{
		"alertname": n.Rule, "severity": n.Severity, "namespace": n.Job.Namespace, "cluster_id": n.Job.ClusterID,
		"job_key": n.Key, "flinkferry_fingerprint": n.Fingerprint,
	}
	if n.Job.KubeCluster != "" {
		l["kube_cluster"] = n.Job.KubeCluster
	}
	if n.Mode != "" {
		l["mode"] = n.Mode
	}
	for k, v := range n.Labels {
		name := labelNameInvalid.ReplaceAllString(k, "_")
		if name == "" || (name[0] >= '0' && name[0] <= '9') || strings.HasPrefix(name, "__") {
			name = "label_" + name
		}
		if _, taken := l[name]; taken || v == "" {
			continue
		}
		l[name] = v
	}
	ann := map[string]string{"summary": n.Summary(), "state": n.To}
	for k, v := range map[string]string{"from": n.From, "reason": n.Reason, "description": truncate(n.Message, 1024),
		"web_ui_url": n.WebUIURL, "flink_job_id": n.FlinkJobID, "savepoint_path": n.SavepointPath} {
		if v != "" {
			ann[k] = v
		}
	}
	if n.Operation != nil {
		ann["operation"] = string(n.Operation.Operation) + " " + string(n.Operation.Status)
	}
	a := PostableAlert{Labels: l, Annotations: ann, StartsAt: n.StartsAt, GeneratorURL: n.WebUIURL}
	if n.Status == StatusResolved {
		a.EndsAt = n.Time
		if a.EndsAt.Before(a.StartsAt) {
			a.EndsAt = a.StartsAt
		}
		// Alertmanager keeps an alert whose endsAt is in the future
		// firing until then: a resolution observed "later" than the
		// worker's clock ends it now.
		if a.EndsAt.After(now) {
			a.EndsAt = now
		}
	} else {
		a.EndsAt = now.Add(endsAfter)
	}
	return a
}

// Deliver posts n as one alert, retrying within the retry budget.
func (a *Alertmanager) Deliver(ctx context.Context, n *Notice) error {
	body, err := json.Marshal([]PostableAlert{AlertmanagerAlert(n, a.now(), a.endsAfter)})
	if err != nil {
		a.metrics.failed.WithLabelValues(a.name).Inc()
		return &DeliveryError{Channel: a.name, Err: err}
	}
	return deliver(ctx, a.name, n.Status, a.retry, a.metrics, a.now, a.sleep, func(ctx context.Context, timeout time.Duration) error {
		return a.post(ctx, body, timeout)
	})
}

// Resend posts the firing notices again in one request (one attempt: the
// next resend retries), extending their endsAt.
func (a *Alertmanager) Resend(ctx context.Context, ns []*Notice) error {
	if len(ns) == 0 {
		return nil
	}
	now := a.now()
	alerts := make([]PostableAlert, 0, len(ns))
	for _, n := range ns {
		alerts = append(alerts, AlertmanagerAlert(n, now, a.endsAfter))
	}
	body, err := json.Marshal(alerts)
	if err != nil {
		return err
	}
	if err := a.post(ctx, body, a.retry.RequestTimeout); err != nil {
		return fmt.Errorf("channel %s: resending %d firing alert(s): %w", a.name, len(ns), err)
	}
	return nil
}

// post sends body once. 4xx other than 408 and 429 are refusals.
func (a *Alertmanager) post(ctx context.Context, body []byte, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url, bytes.NewReader(body))
	if err != nil {
		return refusedError{errors.New("invalid Alertmanager URL")}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "flinkferry-alert")
	for k, v := range a.headers {
		req.Header.Set(k, v)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return stripURL(err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBodyBytes+1))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return classifyStatus(resp.StatusCode, snippet)
}

// classifyStatus is the error of an HTTP answer that is not 2xx: 5xx,
// 408 and 429 are retried, other codes refused.
func classifyStatus(code int, snippet []byte) error {
	e := fmt.Errorf("HTTP %d: %s", code, printable(string(snippet)))
	if code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500 {
		return e
	}
	return refusedError{e}
}
