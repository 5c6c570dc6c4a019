package alert

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/messages"
)

const goodRules = `
channels:
  - name: ops-slack
    url: https://hooks.slack.example/services/T000/B000/XXXX
    template: slack
    hmac: {secret_env: ALERT_TEST_SECRET}
  - name: callback
    url: http://127.0.0.1:9/alerts
    body: '{"job": {{json .Key}}, "state": {{json .To}}}'
    headers: {X-Team: data}
rules:
  - name: job-failed
    severity: critical
    match:
      to: [FAILED, LOST, DEPLOY_FAILED]
      labels: {team: data}
      namespace: [flink-jobs]
      mode: [application]
    channels: [ops-slack, callback]
  - name: operation-failed
    match: {operation_failed: true}
    channels: [callback]
`

func TestParseRulesAcceptsAGoodFile(t *testing.T) {
	rs, err := ParseRules([]byte(goodRules))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(rs.Channels), 2; got != want {
		t.Fatalf("channels = %d, want %d", got, want)
	}
	if got, want := rs.Channels[1].Template, ""; got != want {
		t.Errorf("custom body channel template = %q, want %q", got, want)
	}
	if got, want := rs.Channels[0].ContentType, "application/json"; got != want {
		t.Errorf("content type = %q, want %q", got, want)
	}
	if got, want := rs.Rules[1].Severity, "warning"; got != want {
		t.Errorf("default severity = %q, want %q", got, want)
	}
	if got, want := rs.Rules[0].Match.To, []messages.JobState{"FAILED", "LOST", "DEPLOY_FAILED"}; len(got) != 3 || got[2] != want[2] {
		t.Errorf("to = %v, want %v", got, want)
	}
}

func TestParseRulesNamesTheFieldPath(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"empty file", ``, []string{"(file): empty"}},
		{"not a mapping", `[1, 2]`, []string{"(file): must be a mapping, got a list"}},
		{"missing sections", `{}`, []string{"channels: required", "rules: required"}},
		{"unknown top-level field", `{channels: [{name: a, url: "http://x"}], rules: [{name: r, match: {to: [FAILED]}, channels: [a]}], rule: []}`,
			[]string{"rule: unknown field"}},
		{"channel problems", `
channels:
  - {name: Bad Name, url: "ftp://x", template: pager, typo: 1}
  - {url: "http://x", type: pager}
  - {name: both, url: "http://x", template: slack, body: "x"}
  - {name: tmpl, url: "http://x", body: "{{.Nope"}
  - {name: h, url: "http://x", headers: {"bad header": v}, hmac: {secret_env: A, secret_file: /f}}
  - {name: f, url: "http://x", hmac: {secret_env: FLINKFERRY_ALERT_SECRET}}
rules: [{name: r, match: {to: [FAILED]}, channels: [f]}]
`, []string{
			`channels[0].name: must be 1 to 63`, `channels[0].url: must be an absolute http:// or https:// URL`,
			`channels[0].template: must be one of dingtalk, json, lark, slack, teams, wecom, got "pager"`,
			`channels[0].typo: unknown field`, `channels[1].name: required`, `channels[1].type: must be webhook, alertmanager or email, got "pager"`,
			`channels[2].body: set template or body, not both`, `channels[3].body: template: tmpl:1: unclosed action`,
			`channels[4].headers.bad header: not a valid HTTP header name`, `channels[4].hmac: set exactly one of secret_env and secret_file`,
			`channels[5].hmac.secret_env: must not start with FLINKFERRY_`,
		}},
		{"rule problems", `
channels: [{name: a, url: "http://x"}, {name: a, url: "http://y"}]
rules:
  - {name: r, severity: page, match: {to: [FAILED, failed, BOOM]}, channels: [a, nope]}
  - {name: r, match: {labels: {team: 1}, mode: [batch], kube_cluster: prod}, channels: []}
  - {name: s, match: {to: FAILED, operation_failed: "yes"}, channels: [a], when: {restarts: 3}}
`, []string{
			`channels[1].name: "a" is also channels[0]`,
			`rules[0].severity: must be one of critical, warning, info, got "page"`,
			`rules[0].match.to[1]: unknown state "failed"`, `rules[0].match.to[2]: unknown state "BOOM"`,
			`rules[0].channels[1]: unknown channel "nope"`,
			`rules[1].match: set to (states) or operation_failed: true`, `rules[1].match.labels.team: must be a string, got a number`,
			`rules[1].match.mode[0]: must be application, session or session-cluster, got "batch"`,
			`rules[1].match.kube_cluster: must be a list, got a string`, `rules[1].channels: must not be empty`,
			`rules[1].name: "r" is also rules[0]`,
			`rules[2].match.to: must be a list, got a string`, `rules[2].match.operation_failed: must be a boolean, got a string`,
			`rules[2].when: unknown field`,
		}},
		{"alertmanager and email channels", `
channels:
  - {name: am, type: alertmanager, url: "am:9093", template: slack}
  - {name: m1, type: email, url: "http://x", smtp: {address: smtp.example.com, starttls: maybe, password_env: FLINKFERRY_SMTP}, from: "not an address", to: [ok@example.com, "bad"]}
  - {name: m2, type: email, from: a@example.com, to: [b@example.com], smtp: {address: "s:587", username: u}}
  - {name: both, url: "http://x", url_env: HOOK_URL}
  - {name: neither, type: alertmanager}
  - {name: prefixed, url_env: FLINKFERRY_HOOK}
rules: [{name: r, match: {to: [FAILED]}, channels: [am]}]
`, []string{
			`channels[3].url: set exactly one of url and url_env`, `channels[4].url: set exactly one of url and url_env`,
			`channels[5].url_env: must not start with FLINKFERRY_`,
			`channels[0].template: not a field of alertmanager channels (theirs: url, url_env, headers)`,
			`channels[0].url: must be an absolute http:// or https:// URL`,
			`channels[1].url: not a field of email channels`, `channels[1].from: not an email address`,
			`channels[1].to[1]: not an email address`, `channels[1].smtp.address: must be host:port`,
			`channels[1].smtp.starttls: must be required, opportunistic or off, got "maybe"`,
			`channels[1].smtp.username: required with a password`, `channels[1].smtp.password_env: must not start with FLINKFERRY_`,
			`channels[2].smtp: username needs password_env or password_file`,
		}},
		{"conditions", `
channels: [{name: a, url: "http://x"}]
rules:
  - {name: c1, condition: {restarts: {more_than: -1, window: 10}}, channels: [a]}
  - {name: c2, condition: {no_checkpoint_for: 10m, not_running_after: 5m}, channels: [a]}
  - {name: c3, condition: {failed_checkpoints: {at_least: 0, window: 1000h}}, match: {to: [FAILED]}, channels: [a]}
  - {name: c4, condition: {no_checkpoint_for: soon}, channels: [a]}
  - {name: c5, condition: {not_running_after: 5m}, match: {namespace: [x]}, channels: [a]}
`, []string{
			`rules[0].condition.restarts.more_than: must be a whole number from 0 to 1000000, got -1`,
			`rules[0].condition.restarts.window: must be a string, got a number`,
			`rules[1].condition: set exactly one of restarts, failed_checkpoints, no_checkpoint_for, not_running_after`,
			`rules[2].condition.failed_checkpoints.at_least: must be a whole number from 1`,
			`rules[2].condition.failed_checkpoints.window: must be a duration such as 90s, 10m or 2h, above 0 and at most 720h, got "1000h"`,
			`rules[2].match: a rule with a condition selects jobs by labels, kube_cluster, namespace and mode only`,
			`rules[3].condition.no_checkpoint_for: must be a duration`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRules([]byte(tc.yaml))
			var re *RulesError
			if !errors.As(err, &re) {
				t.Fatalf("ParseRules() = %v, want a *RulesError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestParseRulesNeverQuotesTheURL(t *testing.T) {
	_, err := ParseRules([]byte(`{channels: [{name: a, url: "ftp://user:s3cret@host/x?token=abc"}], rules: [{name: r, match: {to: [FAILED]}, channels: [a]}]}`))
	if err == nil || strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "token=abc") {
		t.Fatalf("ParseRules() = %v, want an error without the URL", err)
	}
}

func TestMatch(t *testing.T) {
	ev := func(edit func(*messages.JobStatusChanged)) *messages.JobStatusChanged {
		e := &messages.JobStatusChanged{
			RequestID: "req-1", Job: messages.JobRef{Namespace: "flink-jobs", ClusterID: "wordcount"},
			Mode: messages.ModeApplication, From: messages.StateRunning, To: messages.StateFailed,
			Labels: map[string]string{"team": "data", "env": "prod"}, Time: time.Unix(0, 0),
		}
		if edit != nil {
			edit(e)
		}
		return e
	}
	failed := Match{To: []messages.JobState{messages.StateFailed, messages.StateLost}}
	for _, tc := range []struct {
		name  string
		match Match
		ev    *messages.JobStatusChanged
		want  bool
	}{
		{"state listed", failed, ev(nil), true},
		{"other state listed", failed, ev(func(e *messages.JobStatusChanged) { e.To = messages.StateLost }), true},
		{"state not listed", failed, ev(func(e *messages.JobStatusChanged) { e.To = messages.StateRunning }), false},
		{"labels equal", Match{To: failed.To, Labels: map[string]string{"team": "data"}}, ev(nil), true},
		{"label differs", Match{To: failed.To, Labels: map[string]string{"team": "web"}}, ev(nil), false},
		{"label missing", Match{To: failed.To, Labels: map[string]string{"owner": "x"}}, ev(nil), false},
		{"namespace listed", Match{To: failed.To, Namespaces: []string{"a", "flink-jobs"}}, ev(nil), true},
		{"namespace not listed", Match{To: failed.To, Namespaces: []string{"a"}}, ev(nil), false},
		{"mode listed", Match{To: failed.To, Modes: []messages.Mode{messages.ModeApplication}}, ev(nil), true},
		{"mode not listed", Match{To: failed.To, Modes: []messages.Mode{messages.ModeSession}}, ev(nil), false},
		{"default kube cluster", Match{To: failed.To, KubeClusters: []string{"default"}}, ev(nil), true},
		{"named kube cluster", Match{To: failed.To, KubeClusters: []string{"prod"}},
			ev(func(e *messages.JobStatusChanged) { e.Job.KubeCluster = "prod" }), true},
		{"other kube cluster", Match{To: failed.To, KubeClusters: []string{"prod"}}, ev(nil), false},
		{"operation failed", Match{OperationFailed: true}, ev(func(e *messages.JobStatusChanged) {
			e.To = messages.StateRunning
			e.Operation = &messages.OperationRef{RequestID: "sp-1", Operation: messages.OpSavepoint, Status: messages.OperationFailed}
		}), true},
		{"operation completed", Match{OperationFailed: true}, ev(func(e *messages.JobStatusChanged) {
			e.To = messages.StateRunning
			e.Operation = &messages.OperationRef{RequestID: "sp-1", Operation: messages.OpSavepoint, Status: messages.OperationCompleted}
		}), false},
		{"no operation", Match{OperationFailed: true}, ev(nil), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.match.Matches(tc.ev); got != tc.want {
				t.Errorf("Matches() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFingerprintIsStablePerRuleAndJob(t *testing.T) {
	a, b := Fingerprint("job-failed", "/ns/a"), Fingerprint("job-failed", "/ns/a")
	if a != b || len(a) != 16 {
		t.Fatalf("Fingerprint() = %q, %q: want equal, 16 hex", a, b)
	}
	if Fingerprint("job-failed", "/ns/b") == a || Fingerprint("other", "/ns/a") == a {
		t.Error("different rule or job, same fingerprint")
	}
}
