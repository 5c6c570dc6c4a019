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

	"github.com/flinkferry/flinkferry/internal/testenv"
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

	// Every event is delivered twice (same and another ce_id): each
	// channel still gets one notice of each.
	env.send(t, statusEvent(messages.StateRunning, messages.StateFailed, 0), "ev-1")
	env.send(t, statusEvent(messages.StateRunning, messages.StateFailed, 0), "ev-1-again")

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
	msgs := mp.WaitMessages(t, 1)
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
	msgs = mp.WaitMessages(t, 2)
	if len(msgs) != 2 || !strings.HasPrefix(msgs[1].Subject, "[RESOLVED] critical job-failed /flink-jobs/wordcount FAILED → RUNNING") ||
		!strings.Contains(msgs[1].Text, "Resolved:  2026-11-28T10:00:30Z") {
		t.Errorf("second email: %q\n%s", msgs[1].Subject, msgs[1].Text)
	}
	time.Sleep(500 * time.Millisecond) // nothing more comes
	if n := len(hook.all()); n != 2*len(names) {
		t.Errorf("webhook calls = %d, want %d", n, 2*len(names))
	}
	if n := len(mp.Messages(t)); n != 2 {
		t.Errorf("emails = %d, want 2", n)
	}
	amHook.mu.Lock()
	if n := len(amHook.msgs); n != 2 {
		t.Errorf("Alertmanager notifications = %d, want 2 (firing, resolved)", n)
	}
	amHook.mu.Unlock()
	if strings.Contains(logs.String(), mp.Password) {
		t.Errorf("the SMTP password is in the worker's logs")
	}
	recs, err := env.store.Recent(context.Background(), 2)
	if err != nil || len(recs) != 2 || len(recs[0].Channels) != 2+len(names) {
		t.Errorf("history = %+v, %v", recs, err)
	}
}

// TestAlertmanagerAlertIsResentWhileFiring: a firing alert's endsAt is
// four resend intervals ahead; the worker posting it again keeps it
// active in Alertmanager long after that.
func TestAlertmanagerAlertIsResentWhileFiring(t *testing.T) {
	amHook := newAMReceiver(t)
	am := startAlertmanager(t, amHook.URL)
	env := startAlert(t, fmt.Sprintf(`
channels: [{name: am, type: alertmanager, url: %q}]
rules: [{name: job-failed, match: {to: [FAILED]}, channels: [am]}]
`, am+"/"), func(a *AlertConfig) { a.ResendInterval = 250 * time.Millisecond })
	env.send(t, statusEvent(messages.StateRunning, messages.StateFailed, 0), "ev-1")
	first := waitAM(t, am, 1)[0]
	if d := time.Until(first.EndsAt); d > 1100*time.Millisecond {
		t.Errorf("endsAt %s ahead, want about 4 × 250ms", d)
	}
	time.Sleep(3 * time.Second) // 3x the first endsAt
	got := waitAM(t, am, 1)[0]
	if got.Status.State != "active" || !got.EndsAt.After(first.EndsAt.Add(time.Second)) {
		t.Errorf("after 3 s: state %s, endsAt %s (first %s); want active and extended", got.Status.State, got.EndsAt, first.EndsAt)
	}
	if !got.StartsAt.Equal(first.StartsAt) || got.Fingerprint != first.Fingerprint {
		t.Errorf("resent alert changed identity: %+v vs %+v", got, first)
	}
}

// TestEmailWithAWrongPasswordIsDeadLetteredWithoutThePassword: the SMTP
// server refuses the login (535), the status event is dead-lettered at
// once with the SMTP reply, and the password is in neither the dead
// letter nor the logs.
func TestEmailWithAWrongPasswordIsDeadLetteredWithoutThePassword(t *testing.T) {
	mp := startMailpit(t)
	wrong := "wrong-" + mp.Password
	t.Setenv("ALERT_TEST_SMTP_PASSWORD", wrong)
	var logs lockedBuffer
	env := startAlertWith(t, fmt.Sprintf(`
channels:
  - {name: mail, type: email, from: a@example.com, to: [b@example.com], smtp: {address: %q, username: %s, password_env: ALERT_TEST_SMTP_PASSWORD, ca_file: %q}}
rules: [{name: job-failed, match: {to: [FAILED]}, channels: [mail]}]
`, mp.SMTPAddr, mp.Username, mp.CAFile), nil, Overrides{}, &logs)
	env.send(t, statusEvent(messages.StateRunning, messages.StateFailed, 0), "ev-1")
	dl := env.kafka.Consume(t, env.topics.DeadLetter, 1, 30*time.Second)
	if len(dl) != 1 {
		t.Fatalf("dead letters = %d, want 1", len(dl))
	}
	text := testenv.Header(dl[0], "reason_poisoned")
	if !strings.Contains(text, "channel mail: not delivered after 1 attempt(s)") || !strings.Contains(text, "AUTH: 535") {
		t.Errorf("dead-letter error = %s", text)
	}
	for what, s := range map[string]string{"dead letter": text, "logs": logs.String()} {
		if strings.Contains(s, wrong) {
			t.Errorf("the SMTP password is in the %s", what)
		}
	}
	if n := len(mp.Messages(t)); n != 0 {
		t.Errorf("mailpit got %d messages", n)
	}
}

// TestEmailRefusesAServerWithoutSTARTTLS: with starttls required (the
// default) a server that does not offer it gets nothing, the password
// least of all.
func TestEmailRefusesAServerWithoutSTARTTLS(t *testing.T) {
	bin := toolPath(t, "mailpit")
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	api := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	startPeer(t, addr, bin, "--smtp", addr, "--listen", api, "--database", t.TempDir()+"/m.db", "--smtp-auth-accept-any",
		"--smtp-auth-allow-insecure", "--disable-version-check", "--quiet")
	t.Setenv("ALERT_TEST_SMTP_PASSWORD", "p")
	chs, err := NewChannels([]ChannelSpec{{Name: "mail", Type: TypeEmail, SMTP: SMTPSpec{Address: addr, Username: "u",
		PasswordEnv: "ALERT_TEST_SMTP_PASSWORD", From: "a@example.com", To: []string{"b@example.com"}}}},
		AlertConfig{RequestTimeout: 5 * time.Second, RetryBudget: 5 * time.Second, RetryInitialInterval: time.Second, RetryMaxInterval: time.Second, RetryMultiplier: 1}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = chs["mail"].Deliver(context.Background(), sampleNotice())
	if err == nil || !strings.Contains(err.Error(), "does not offer STARTTLS") || !strings.Contains(err.Error(), "after 1 attempt(s)") {
		t.Errorf("Deliver() = %v, want a refusal naming STARTTLS", err)
	}
}
