package alert

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flinkferry/flinkferry/internal/worker"
)

func TestConfigDefaultsAndValidation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte(`{channels: [{name: a, url: "http://127.0.0.1:1/x"}], rules: [{name: r, match: {to: [FAILED]}, channels: [a]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FLINKFERRY_ALERT_RULES_FILE", path)
	var c Config
	if err := worker.Load(&c); err != nil {
		t.Fatal(err)
	}
	if got, want := c.Alert.RetryBudget, 30*time.Second; got != want {
		t.Errorf("RETRY_BUDGET = %s, want %s", got, want)
	}
	if got, want := c.Alert.RedisPrefix, DefaultPrefix; got != want {
		t.Errorf("REDIS_PREFIX = %q, want %q", got, want)
	}

	t.Setenv("FLINKFERRY_ALERT_RETRY_BUDGET", "5m")
	t.Setenv("FLINKFERRY_ALERT_RETRY_MULTIPLIER", "0.5")
	t.Setenv("FLINKFERRY_ALERT_RULES_FILE", filepath.Join(t.TempDir(), "missing.yaml"))
	err := worker.Load(&Config{})
	for _, want := range []string{"RETRY_BUDGET (5m0s) must be shorter than FLINKFERRY_HANDLER_TIMEOUT (2m0s)", "RETRY_MULTIPLIER", "RULES_FILE: reading rules file"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load() = %v, want an error with %q", err, want)
		}
	}
}

func TestChannelSecretsAreReadAndNeverShown(t *testing.T) {
	a := AlertConfig{MaxBodyBytes: 65536}
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	chs, err := NewChannels([]ChannelSpec{{Name: "f", URL: "http://x", Template: "json", ContentType: "application/json", SecretFile: file}}, a, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(chs["f"].(*Webhook).secret); got != "from-file" {
		t.Errorf("secret = %q, want the file's content without the line break", got)
	}
	_, err = NewChannels([]ChannelSpec{{Name: "e", URL: "http://x", Template: "json", SecretEnv: "ALERT_TEST_UNSET"}}, a, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "channels[0] (e): hmac.secret_env: ALERT_TEST_UNSET is not set") {
		t.Errorf("NewChannels() = %v, want the unset variable named", err)
	}
	_, err = NewChannels([]ChannelSpec{{Name: "b", URL: "http://x", Body: `{{.Labels.missing.x}}`}}, a, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "channels[0] (b): body: rendering body") {
		t.Errorf("NewChannels() = %v, want the failing body reported at start", err)
	}
}

func TestWebhookDoesNotRetryARefusal(t *testing.T) {
	hook := newReceiver(t, func(int) int { return http.StatusBadRequest })
	chs, err := NewChannels([]ChannelSpec{{Name: "r", URL: hook.URL + "/t0ken", Template: "json", ContentType: "application/json"}},
		AlertConfig{MaxBodyBytes: 65536, RetryInitialInterval: time.Millisecond, RetryMaxInterval: time.Millisecond,
			RetryMultiplier: 2, RetryBudget: 5 * time.Second, RequestTimeout: time.Second}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = chs["r"].Deliver(t.Context(), sampleNotice())
	if err == nil || !strings.Contains(err.Error(), "channel r: not delivered after 1 attempt(s)") || !strings.Contains(err.Error(), "HTTP 400: status 400") {
		t.Errorf("Deliver() = %v, want one attempt refused with HTTP 400", err)
	}
	if strings.Contains(err.Error(), "t0ken") {
		t.Errorf("error quotes the URL: %v", err)
	}
	if n := len(hook.all()); n != 1 {
		t.Errorf("receiver got %d calls, want 1", n)
	}
}

func TestWebhookMetricsPerChannel(t *testing.T) {
	hook := newReceiver(t, func(n int) int {
		if n <= 3 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	chs, err := NewChannels([]ChannelSpec{{Name: "m", URL: hook.URL, Template: "json", ContentType: "application/json"}},
		AlertConfig{MaxBodyBytes: 65536, RetryInitialInterval: time.Millisecond, RetryMaxInterval: 5 * time.Millisecond,
			RetryMultiplier: 2, RetryBudget: 5 * time.Second, RequestTimeout: time.Second}, nil, m)
	if err != nil {
		t.Fatal(err)
	}
	if err := chs["m"].Deliver(t.Context(), sampleNotice()); err != nil {
		t.Fatal(err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		for _, mt := range f.GetMetric() {
			got[f.GetName()] += mt.GetCounter().GetValue() + float64(mt.GetHistogram().GetSampleCount())
		}
	}
	for name, want := range map[string]float64{
		"flinkferry_alert_notifications_sent_total": 1, "flinkferry_alert_delivery_retries_total": 3,
		"flinkferry_alert_notifications_failed_total": 0, "flinkferry_alert_delivery_duration_seconds": 1,
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
}

func TestChannelURLFromTheEnvironment(t *testing.T) {
	a := AlertConfig{MaxBodyBytes: 65536}
	t.Setenv("ALERT_TEST_HOOK", "https://hooks.example.com/services/T0/B0/s3cr3t")
	chs, err := NewChannels([]ChannelSpec{{Name: "w", Type: TypeWebhook, URLEnv: "ALERT_TEST_HOOK", Template: "json", ContentType: "application/json"},
		{Name: "am", Type: TypeAlertmanager, URLEnv: "ALERT_TEST_HOOK"}}, a, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := chs["w"].(*Webhook).url; got != "https://hooks.example.com/services/T0/B0/s3cr3t" {
		t.Errorf("webhook url = %q", got)
	}
	if got := chs["am"].(*Alertmanager).url; got != "https://hooks.example.com/services/T0/B0/s3cr3t/api/v2/alerts" {
		t.Errorf("alertmanager url = %q", got)
	}
	t.Setenv("ALERT_TEST_HOOK", "ftp://user:s3cr3t@host/")
	_, err = NewChannels([]ChannelSpec{{Name: "w", URLEnv: "ALERT_TEST_HOOK", Template: "json"}, {Name: "x", URLEnv: "ALERT_TEST_UNSET"}}, a, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "url_env: ALERT_TEST_HOOK must be an absolute") ||
		!strings.Contains(err.Error(), "url_env: ALERT_TEST_UNSET is not set") || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("NewChannels() = %v, want both variables named, no value quoted", err)
	}
}
