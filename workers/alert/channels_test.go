package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/messages"
)

// amReceiver records what Alertmanager's webhook notifier delivers.
type amReceiver struct {
	*httptest.Server
	mu   sync.Mutex
	msgs []amWebhook
}

// amWebhook is Alertmanager's webhook payload (the part checked).
type amWebhook struct {
	Status string `json:"status"`
	Alerts []struct {
		Status       string            `json:"status"`
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations"`
		GeneratorURL string            `json:"generatorURL"`
	} `json:"alerts"`
}

func newAMReceiver(t *testing.T) *amReceiver {
	r := &amReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var m amWebhook
		b, _ := io.ReadAll(req.Body)
		if err := json.Unmarshal(b, &m); err != nil {
			t.Errorf("Alertmanager webhook body: %v: %s", err, b)
		}
		r.mu.Lock()
		r.msgs = append(r.msgs, m)
		r.mu.Unlock()
	}))
	t.Cleanup(r.Close)
	return r
}

// waitStatus waits until Alertmanager delivered a notification with status.
func (r *amReceiver) waitStatus(t *testing.T, status string) amWebhook {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for _, m := range r.msgs {
			if m.Status == status {
				r.mu.Unlock()
				return m
			}
		}
		r.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("Alertmanager delivered no %s notification", status)
	return amWebhook{}
}

// waitAM waits until Alertmanager lists n alerts.
func waitAM(t *testing.T, base string, n int) []gettableAlert {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := amAlerts(t, base)
		if len(got) == n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("Alertmanager lists %d alerts, want %d: %+v", len(got), n, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestFailedJobReachesAlertmanagerWebhooksAndEmailThenResolves is the
// issue's first must-show on the channels: one failed job gives one
// alert in a real Alertmanager with the right labels, one call per
// shipped webhook template and one email through a real SMTP server
// (STARTTLS, auth); the job running again resolves it everywhere.
func TestFailedJobReachesAlertmanagerWebhooksAndEmailThenResolves(t *testing.T) {
	amHook := newAMReceiver(t)
	am := startAlertmanager(t, amHook.URL+"/am")
	mp := startMailpit(t)
	t.Setenv("ALERT_TEST_SMTP_PASSWORD", mp.Password)
	hook := newReceiver(t, nil)
	var chans, names []string
	for _, tmpl := range TemplateNames() {
		chans = append(chans, fmt.Sprintf("  - {name: %s, url: %q, template: %s}", tmpl, hook.URL+"/"+tmpl, tmpl))
		names = append(names, tmpl)
	}
	rules := fmt.Sprintf(`
channels:
  - {name: am, type: alertmanager, url: %q}
  - name: mail
    type: email
    from: "flinkferry <flinkferry@example.com>"
    to: [oncall@example.com, data-team@example.com]
    smtp: {address: %q, username: %s, password_env: ALERT_TEST_SMTP_PASSWORD, ca_file: %q}
%s
rules:
  - {name: job-failed, severity: critical, match: {to: [FAILED, LOST]}, channels: [am, mail, %s]}
`, am, mp.SMTPAddr, mp.Username, mp.CAFile, strings.Join(chans, "\n"), strings.Join(names, ", "))
	var logs lockedBuffer
	env := startAlertWith(t, rules, nil, Overrides{}, &logs)

	env.send(t, statusEvent(messages.StateRunning, messages.StateFailed, 0), "ev-1")

	// Alertmanager: one alert, labels identifying rule and job, the web UI
	// as generator URL.
	alerts := waitAM(t, am, 1)
	a := alerts[0]
	for k, want := range map[string]string{"alertname": "job-failed", "severity": "critical", "namespace": "flink-jobs",
		"cluster_id": "wordcount", "job_key": "/flink-jobs/wordcount", "mode": "application", "team": "data",
		"flinkferry_fingerprint": Fingerprint("job-failed", "/flink-jobs/wordcount")} {
		if got := a.Labels[k]; got != want {
			t.Errorf("Alertmanager label %s = %q, want %q", k, got, want)
		}
	}
	if _, ok := a.Labels["kube_cluster"]; ok {
		t.Errorf("kube_cluster label set for the default cluster: %v", a.Labels)
	}
	if got, want := a.GeneratorURL, "http://127.0.0.1:8081/flink-jobs/wordcount/"; got != want {
		t.Errorf("generatorURL = %q, want %q", got, want)
	}
	if a.Annotations["state"] != "FAILED" || a.Annotations["reason"] != "job_failed" || !strings.HasPrefix(a.Annotations["summary"], "[FIRING] critical job-failed") {
		t.Errorf("annotations = %v", a.Annotations)
	}
	if !a.StartsAt.Equal(t0) || a.Status.State != "active" {
		t.Errorf("startsAt %s, state %s; want %s, active", a.StartsAt, a.Status.State, t0)
	}
	fired := amHook.waitStatus(t, "firing")
	if len(fired.Alerts) != 1 || fired.Alerts[0].Labels["alertname"] != "job-failed" {
		t.Errorf("Alertmanager's webhook notification = %+v", fired)
	}

	// Webhooks: one call per template.
	calls := waitDelivered(t, hook, len(names))
	var paths []string
	for _, c := range calls {
		paths = append(paths, strings.TrimPrefix(c.path, "/"))
	}
	slices.Sort(paths)
	if got, want := strings.Join(paths, ","), strings.Join(names, ","); got != want {
		t.Errorf("webhook calls = %s, want one per template %s", got, want)
	}

	// Email: one message to both recipients, text and HTML.
	msgs := mp.waitMessages(t, 1)
	m := msgs[0]
	if got, want := m.Subject, "[FIRING] critical job-failed /flink-jobs/wordcount RUNNING → FAILED (job_failed)"; got != want {
		t.Errorf("subject = %q, want %q", got, want)
	}
	if len(m.To) != 2 || m.From.Address != "flinkferry@example.com" {
		t.Errorf("from %v to %v", m.From, m.To)
	}
	for _, want := range []string{"Job:       /flink-jobs/wordcount", "Web UI:    http://127.0.0.1:8081/flink-jobs/wordcount/", "java.lang.RuntimeException: boom"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text body lacks %q:\n%s", want, m.Text)
		}
	}
	if !strings.Contains(m.HTML, `<a href="http://127.0.0.1:8081/flink-jobs/wordcount/">`) || !strings.Contains(m.HTML, "Firing: job-failed") {
		t.Errorf("HTML body:\n%s", m.HTML)
	}

	// The job runs again: resolved in Alertmanager (no longer listed, its
	// webhook told), one resolved call per template, one resolved email.
	env.send(t, statusEvent(messages.StateFailed, messages.StateRunning, 30), "ev-2")
	waitAM(t, am, 0)
	resolved := amHook.waitStatus(t, "resolved")
	if len(resolved.Alerts) != 1 || resolved.Alerts[0].Status != "resolved" {
		t.Errorf("Alertmanager's resolved notification = %+v", resolved)
	}
	calls = waitDelivered(t, hook, 2*len(names))
	if len(calls) != 2*len(names) {
		t.Errorf("webhook calls = %d, want %d", len(calls), 2*len(names))
	}
	msgs = mp.waitMessages(t, 2)
	if len(msgs) != 2 || !strings.HasPrefix(msgs[1].Subject, "[RESOLVED] critical job-failed /flink-jobs/wordcount FAILED → RUNNING") ||
		!strings.Contains(msgs[1].Text, "Resolved:  2026-11-28T10:00:30Z") {
		t.Errorf("second email: %q\n%s", msgs[1].Subject, msgs[1].Text)
	}
	if strings.Contains(logs.String(), mp.Password) {
		t.Errorf("the SMTP password is in the worker's logs")
	}
	recs, err := env.store.Recent(context.Background(), 2)
	if err != nil || len(recs) != 2 || len(recs[0].Channels) != 2+len(names) {
		t.Errorf("history = %+v, %v", recs, err)
	}
}
