package dev

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/alert"
	"github.com/flinkferry/flinkferry/workers/alert/alerttest"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

// syncLines collects the printer's lines.
type syncLines struct{ alerttest.Buffer }

// waitFor waits until the printer printed want.
func (s *syncLines) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(s.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("alert printer did not print %q:\n%s", want, s.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDevFailingAJobPrintsTheAlertAndItsResolution is what a newcomer
// sees: the dev stack runs the alert worker with the webhook printer; a
// job made to fail in the simulator (through the dev control endpoint,
// as `flinkferry dev fail` does) is printed as an alert, and as resolved
// once Flink restarted it; a job failing for good is printed too.
func TestDevFailingAJobPrintsTheAlertAndItsResolution(t *testing.T) {
	testenv.LookPath(t, "redis-server")
	var out syncLines
	env, kube, store := startWithAlerts(t, &out)
	env.SetControl(ControlHandler(kube))
	const key = "/flink-jobs/alerting"
	submitDemo(t, env, "alerting")
	waitRunning(t, store, key, 90*time.Second)

	// Through the control endpoint, as `flinkferry dev fail --restart` does.
	if code := post(t, env.ArtifactsURL+ControlPath+"fail/alerting?restart=2s"); code != http.StatusNoContent {
		t.Fatalf("POST fail = %d", code)
	}
	out.waitFor(t, "alert: [FIRING] warning job-restarting "+key+" RUNNING → RESTARTING")
	out.waitFor(t, "alert: [RESOLVED] warning job-restarting "+key+" RESTARTING → RUNNING")

	// Failed for good: the critical alert. (The track worker's FAILED
	// event carries no reason or root exception yet, so neither is shown.)
	if err := kube.FailJob("alerting", FailOptions{Cause: "java.lang.IllegalStateException: demo"}); err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, "alert: [FIRING] critical job-failed "+key+" RUNNING → FAILED")
	if code := post(t, env.ArtifactsURL+ControlPath+"fail/nope"); code != http.StatusNotFound {
		t.Errorf("failing an unknown job = %d, want 404", code)
	}
}

func post(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Post(url, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// startWithAlerts starts the embedded peers on free ports, the fake
// clientset and the four workers, the alert printer writing to out.
func startWithAlerts(t *testing.T, out io.Writer) (*Env, *Kube, *jobstore.Store) {
	t.Helper()
	return startWithAlertsOptions(t, WorkerOptions{AlertOut: out})
}

// startWithAlertsOptions is startWithAlerts with the workers' options.
func startWithAlertsOptions(t *testing.T, wo WorkerOptions) (*Env, *Kube, *jobstore.Store) {
	t.Helper()
	return startStack(t, Options{}, KubeOptions{FakeClientset: true, StartDelay: 300 * time.Millisecond}, wo)
}

// TestJobFailingInTheSimulatorAlertsEverywhereAndResolves is the issue's
// first must-show end to end: a job fails in the Flink simulator, the
// track worker sees it, and the alert worker raises one alert in a real
// Alertmanager (right labels, the web UI as generator URL), one webhook
// call per shipped template and one email through a real SMTP server;
// the job resumed and running again resolves it in all of them.
func TestJobFailingInTheSimulatorAlertsEverywhereAndResolves(t *testing.T) {
	testenv.LookPath(t, "redis-server")
	amCalls := make(chan string, 16)
	amHook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			Status string `json:"status"`
		}
		_ = json.NewDecoder(r.Body).Decode(&m)
		amCalls <- m.Status
	}))
	defer amHook.Close()
	am := alerttest.StartAlertmanager(t, amHook.URL)
	mp := alerttest.StartMailpit(t)
	t.Setenv("DEV_TEST_SMTP_PASSWORD", mp.Password)
	var mu sync.Mutex
	hooks := map[string][]string{} // template → statuses received
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		status := "firing"
		if strings.Contains(string(b), "RESOLVED") || strings.Contains(string(b), `"status": "resolved"`) {
			status = "resolved"
		}
		mu.Lock()
		hooks[strings.TrimPrefix(r.URL.Path, "/")] = append(hooks[strings.TrimPrefix(r.URL.Path, "/")], status)
		mu.Unlock()
	}))
	defer hook.Close()
	var chans []string
	for _, n := range alert.TemplateNames() {
		chans = append(chans, fmt.Sprintf("  - {name: %s, url: %q, template: %s}", n, hook.URL+"/"+n, n))
	}
	rules := fmt.Sprintf(`channels:
  - {name: am, type: alertmanager, url: %q}
  - {name: mail, type: email, from: flinkferry@example.com, to: [oncall@example.com], smtp: {address: %q, username: %s, password_env: DEV_TEST_SMTP_PASSWORD, ca_file: %q}}
%s
rules:
  - {name: job-failed, severity: critical, match: {to: [FAILED]}, channels: [am, mail, %s]}
`, am, mp.SMTPAddr, mp.Username, mp.CAFile, strings.Join(chans, "\n"), strings.Join(alert.TemplateNames(), ", "))

	env, kube, store := startWithAlertsOptions(t, WorkerOptions{AlertRules: rules})
	const id = "must-show"
	key := submitDemo(t, env, id)
	waitRunning(t, store, key, 90*time.Second)
	if err := kube.FailJob(id, FailOptions{Cause: "java.lang.IllegalStateException: boom"}); err != nil {
		t.Fatal(err)
	}

	// Alertmanager: one alert, the job's labels, the web UI.
	var alerts []alerttest.Alert
	waitUntil(t, "one alert in Alertmanager", func() bool { alerts = alerttest.Alerts(t, am); return len(alerts) == 1 })
	a := alerts[0]
	for k, want := range map[string]string{"alertname": "job-failed", "severity": "critical", "namespace": Namespace,
		"cluster_id": id, "job_key": key, "mode": "application"} {
		if a.Labels[k] != want {
			t.Errorf("label %s = %q, want %q", k, a.Labels[k], want)
		}
	}
	if a.GeneratorURL == "" || !strings.Contains(a.GeneratorURL, id) || a.Annotations["state"] != "FAILED" {
		t.Errorf("generatorURL %q, annotations %v", a.GeneratorURL, a.Annotations)
	}
	if got := <-amCalls; got != "firing" {
		t.Errorf("Alertmanager notified %q, want firing", got)
	}
	// One call per template, one email.
	waitUntil(t, "one firing call per template", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, n := range alert.TemplateNames() {
			if len(hooks[n]) != 1 {
				return false
			}
		}
		return true
	})
	if msgs := mp.WaitMessages(t, 1); len(msgs) != 1 || !strings.HasPrefix(msgs[0].Subject, "[FIRING] critical job-failed "+key) {
		t.Errorf("emails = %+v", msgs)
	}

	// Resumed and running again: resolved everywhere.
	sendControl(t, env, messages.ControlRequested{RequestID: "must-show-resume", Job: messages.JobRef{Namespace: Namespace, ClusterID: id},
		Operation: messages.OpResume, Restore: &messages.RestoreOptions{From: messages.RestoreFromNone}}, 1)
	waitJob(t, store, key, 60*time.Second, "the resumed run RUNNING", func(j *jobstore.Job) bool {
		return j.RequestID == "must-show-resume" && j.State == messages.StateRunning
	})
	waitUntil(t, "no alert left in Alertmanager", func() bool { return len(alerttest.Alerts(t, am)) == 0 })
	select {
	case got := <-amCalls:
		if got != "resolved" {
			t.Errorf("Alertmanager notified %q, want resolved", got)
		}
	case <-time.After(30 * time.Second):
		t.Error("Alertmanager sent no resolved notification")
	}
	waitUntil(t, "one resolved call per template", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, n := range alert.TemplateNames() {
			if len(hooks[n]) != 2 {
				return false
			}
		}
		return true
	})
	if msgs := mp.WaitMessages(t, 2); len(msgs) != 2 || !strings.HasPrefix(msgs[1].Subject, "[RESOLVED] critical job-failed "+key) {
		t.Errorf("emails = %d, second %q", len(msgs), msgs[len(msgs)-1].Subject)
	}
	mu.Lock()
	defer mu.Unlock()
	for n, st := range hooks {
		if strings.Join(st, ",") != "firing,resolved" {
			t.Errorf("webhook %s got %v, want firing then resolved", n, st)
		}
	}
}

// waitUntil polls ok for up to 60 s.
func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 60s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
