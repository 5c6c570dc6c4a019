package worker

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

type testConfig struct {
	Common
	Extra string `envconfig:"EXTRA" default:"x" desc:"an extra setting"`
}

func (c testConfig) Validate() error { return c.Common.Validate() }

func TestLoadReadsDefaultsAndVariables(t *testing.T) {
	t.Setenv("FLINKFERRY_KAFKA_BROKERS", "k1:9092,k2:9092")
	t.Setenv("FLINKFERRY_HANDLER_TIMEOUT", "45s")
	var c testConfig
	if err := Load(&c); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(c.Kafka.Brokers, ","), "k1:9092,k2:9092"; got != want {
		t.Errorf("brokers = %s, want %s", got, want)
	}
	if got, want := c.Handler.Timeout, 45*time.Second; got != want {
		t.Errorf("handler timeout = %s, want %s", got, want)
	}
	if got, want := c.Kafka.TopicPrefix, "flinkferry."; got != want {
		t.Errorf("topic prefix = %q, want %q", got, want)
	}
	if c.Extra != "x" || c.Log.Level != "info" || c.Ops.Addr != ":9090" {
		t.Errorf("defaults not applied: %+v", c)
	}
}

func TestLoadRefusesUnknownVariables(t *testing.T) {
	t.Setenv("FLINKFERRY_KAFKA_BROKRS", "typo:9092")
	var c testConfig
	err := Load(&c)
	if err == nil || !strings.Contains(err.Error(), "FLINKFERRY_KAFKA_BROKRS") {
		t.Fatalf("Load() = %v, want an error naming FLINKFERRY_KAFKA_BROKRS", err)
	}
	// A variable of another component is fine when that component is known.
	t.Setenv("FLINKFERRY_KAFKA_BROKRS", "")
	t.Setenv("FLINKFERRY_OTHER", "1")
	other := struct {
		Other string `envconfig:"OTHER"`
	}{}
	if err := CheckUnknown(&c, &other); err == nil || strings.Contains(err.Error(), "FLINKFERRY_OTHER") {
		t.Errorf("CheckUnknown = %v, want only FLINKFERRY_KAFKA_BROKRS reported", err)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Setenv("FLINKFERRY_KAFKA_BROKERS", "nohost")
	t.Setenv("FLINKFERRY_LOG_LEVEL", "loud")
	t.Setenv("FLINKFERRY_HANDLER_RETRY_MULTIPLIER", "0.5")
	t.Setenv("FLINKFERRY_KAFKA_SASL_MECHANISM", "GSSAPI")
	t.Setenv("FLINKFERRY_KAFKA_SASL_PASSWORD", "hunter2")
	var c testConfig
	err := Load(&c)
	if err == nil {
		t.Fatal("Load() = nil, want errors")
	}
	for _, want := range []string{`"nohost" has no port`, `LEVEL "loud"`, "RETRY_MULTIPLIER", `SASL_MECHANISM "GSSAPI"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error leaks the SASL password")
	}
}

func TestUsagePrintsTheTable(t *testing.T) {
	var buf bytes.Buffer
	if err := Usage(&buf, &testConfig{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"FLINKFERRY_KAFKA_BROKERS", "127.0.0.1:9092", "FLINKFERRY_EXTRA", "an extra setting", "FLINKFERRY_HANDLER_RETRY_MAX_ELAPSED"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, buf.String())
		}
	}
}
