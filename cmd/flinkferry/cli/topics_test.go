package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
)

// topicsKafka starts a kfake cluster with no flinkferry topic, and hides
// the FLINKFERRY_KAFKA_* variables and any running flinkferry dev.
func topicsKafka(t *testing.T) (*testenv.KafkaCluster, *kadm.Client) {
	t.Helper()
	t.Setenv("FLINKFERRY_DEV_STATE", filepath.Join(t.TempDir(), "no-dev.json"))
	for _, k := range []string{"FLINKFERRY_KAFKA_BROKERS", "FLINKFERRY_KAFKA_TOPIC_PREFIX", "FLINKFERRY_KAFKA_PARTITIONS", "FLINKFERRY_KAFKA_REPLICATION_FACTOR"} {
		if v, ok := os.LookupEnv(k); ok {
			t.Setenv(k, v)
			os.Unsetenv(k)
		}
	}
	k := testenv.Kafka(t)
	return k, kadm.NewClient(k.Client(t))
}

// runTopics runs `flinkferry topics <args> --brokers ...` and returns
// stdout and the error.
func runTopics(t *testing.T, k *testenv.KafkaCluster, args ...string) (string, error) {
	t.Helper()
	root := New()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append(append([]string{"topics"}, args...), "--brokers", strings.Join(k.Brokers, ",")))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

var spaces = regexp.MustCompile(` {2,}`)

// squeeze turns the runs of spaces of the tables in out into one space.
func squeeze(out string) string { return spaces.ReplaceAllString(out, " ") }

// topicConfig returns the effective value of config key of topic.
func topicConfig(t *testing.T, adm *kadm.Client, topic, key string) string {
	t.Helper()
	rcs, err := adm.DescribeTopicConfigs(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rcs.On(topic, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rc.Configs {
		if c.Key == key {
			return c.MaybeValue()
		}
	}
	t.Fatalf("%s has no config %s", topic, key)
	return ""
}

// checkJSON runs `topics check -o json args...` and decodes the report.
func checkJSON(t *testing.T, k *testenv.KafkaCluster, args ...string) (TopicsCheck, error) {
	t.Helper()
	out, err := runTopics(t, k, append([]string{"check", "-o", "json"}, args...)...)
	var r TopicsCheck
	if jerr := json.Unmarshal([]byte(out), &r); jerr != nil {
		t.Fatalf("check -o json printed %q (%v): %v", out, err, jerr)
	}
	return r, err
}

// problems returns the kinds of the problems of each topic that has any.
func problems(r TopicsCheck) map[string][]string {
	m := map[string][]string{}
	for _, tc := range r.Topics {
		for _, p := range tc.Problems {
			m[tc.Topic] = append(m[tc.Topic], p.Kind)
		}
	}
	return m
}

func TestTopicsCreateTwiceThenCheck(t *testing.T) {
	k, adm := topicsKafka(t)
	topics := messages.DefaultTopics("flinkferry.")

	out, err := runTopics(t, k, "create", "--partitions", "12", "--replication-factor", "3")
	out = squeeze(out)
	if err != nil {
		t.Fatalf("first create: %v\n%s", err, out)
	}
	for _, name := range topics.All() {
		if !strings.Contains(out, "created "+name+" ") {
			t.Errorf("first create does not say %s was created:\n%s", name, out)
		}
	}
	if got, want := strings.Count(out, "12 partitions replication 3\n"), 6; got != want {
		t.Errorf("first create: %d lines with 12 partitions, replication 3, want %d:\n%s", got, want, out)
	}

	out, err = runTopics(t, k, "create", "--partitions", "24")
	out = squeeze(out)
	if err != nil {
		t.Fatalf("second create: %v\n%s", err, out)
	}
	if strings.Contains(out, "created") || strings.Count(out, "exists ") != 6 || strings.Count(out, "12 partitions replication 3\n") != 6 {
		t.Errorf("second create is not a no-op reporting 6 existing topics of 12 partitions:\n%s", out)
	}

	details, err := adm.ListTopics(context.Background(), topics.All()...)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range topics.All() {
		if got, want := len(details[name].Partitions), 12; got != want {
			t.Errorf("%s has %d partitions, want %d", name, got, want)
		}
		if got, want := details[name].Partitions.NumReplicas(), 3; got != want {
			t.Errorf("%s has replication %d, want %d", name, got, want)
		}
	}
	for _, c := range []struct{ topic, key, want string }{
		{topics.DeadLetter, "max.message.bytes", "1048588"},
		{topics.DeadLetter, "retention.ms", "2592000000"}, // 30d
		{topics.Status, "retention.ms", "604800000"},      // 7d
	} {
		if got := topicConfig(t, adm, c.topic, c.key); got != c.want {
			t.Errorf("%s %s = %s, want %s", c.topic, c.key, got, c.want)
		}
	}

	out, err = runTopics(t, k, "check")
	out = squeeze(out)
	if err != nil || strings.Count(out, "ok ") != 6 || strings.Contains(out, "problem") {
		t.Errorf("check after create: %v\n%s", err, out)
	}
	r, err := checkJSON(t, k, "--replicas", "12", "--min-replication", "3")
	if err != nil || !r.OK || len(r.Topics) != 6 {
		t.Errorf("check -o json --replicas 12 --min-replication 3: %v %+v", err, r)
	}
	if dl := r.Topics[5]; dl.Topic != topics.DeadLetter || dl.MaxMessageBytes == nil || *dl.MaxMessageBytes != bus.DeadLetterTopicMaxBytes {
		t.Errorf("dead-letter in the report: %+v", dl)
	}
}

func TestTopicsCheckFlagsTooFewPartitionsForReplicas(t *testing.T) {
	k, _ := topicsKafka(t)
	if out, err := runTopics(t, k, "create"); err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	out, err := runTopics(t, k, "check", "--replicas", "24")
	out = squeeze(out)
	if err == nil {
		t.Fatalf("check --replicas 24 on 12 partitions passed:\n%s", out)
	}
	want := "problem: flinkferry.submit: 12 partitions for 24 replicas (--replicas): a consumer group cannot use more consumers than partitions"
	if !strings.Contains(out, want) {
		t.Errorf("check --replicas 24 output lacks %q:\n%s", want, out)
	}
	r, err := checkJSON(t, k, "--replicas", "24")
	if err == nil || r.OK {
		t.Errorf("check -o json --replicas 24: ok=%v err=%v", r.OK, err)
	}
	// Only the topics the workers consume in a group are held to the
	// replica count.
	p := problems(r)
	for _, name := range []string{"flinkferry.submit", "flinkferry.control", "flinkferry.image-built", "flinkferry.deployed"} {
		if got := strings.Join(p[name], ","); got != problemPartitions {
			t.Errorf("%s problems = %q, want %q", name, got, problemPartitions)
		}
	}
	if len(p) != 4 {
		t.Errorf("problems = %v, want the four consumed topics only", p)
	}

	r, err = checkJSON(t, k, "--min-partitions", "13", "--min-replication", "4")
	if err == nil || r.Topics[0].Problems[0].Message != "flinkferry.submit: 12 partitions, fewer than --min-partitions 13" {
		t.Errorf("check --min-partitions 13: %v %+v", err, r.Topics[0])
	}
	if got := strings.Join(problems(r)["flinkferry.status"], ","); got != problemReplication {
		t.Errorf("status problems with --min-replication 4 = %q, want %q", got, problemReplication)
	}
}

func TestTopicsCheckFlagsMissingTopic(t *testing.T) {
	k, adm := topicsKafka(t)
	if out, err := runTopics(t, k, "create"); err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	if _, err := adm.DeleteTopic(context.Background(), "flinkferry.deployed"); err != nil {
		t.Fatal(err)
	}
	out, err := runTopics(t, k, "check")
	out = squeeze(out)
	if err == nil || !strings.Contains(out, "problem flinkferry.deployed missing") ||
		!strings.Contains(out, "problem: flinkferry.deployed: does not exist") {
		t.Errorf("check with deployed deleted: %v\n%s", err, out)
	}
	r, _ := checkJSON(t, k)
	if got := problems(r); len(got) != 1 || strings.Join(got["flinkferry.deployed"], ",") != problemMissing {
		t.Errorf("problems = %v, want deployed missing only", got)
	}
	// The check did not create it (kfake allows automatic creation).
	if out, err := runTopics(t, k, "create"); err != nil || !strings.Contains(squeeze(out), "created flinkferry.deployed ") ||
		strings.Count(squeeze(out), "exists ") != 5 {
		t.Errorf("create after the deletion: %v\n%s", err, out)
	}
}

func TestTopicsCheckFlagsSmallDeadLetterMessages(t *testing.T) {
	k, adm := topicsKafka(t)
	small := "1000"
	if _, err := adm.CreateTopic(context.Background(), 12, 3, map[string]*string{"max.message.bytes": &small}, "flinkferry.dead-letter"); err != nil {
		t.Fatal(err)
	}
	out, err := runTopics(t, k, "create")
	out = squeeze(out)
	if err != nil || !strings.Contains(out, "exists flinkferry.dead-letter ") || strings.Count(out, "created ") != 5 {
		t.Fatalf("create with the dead-letter topic present: %v\n%s", err, out)
	}
	if got := topicConfig(t, adm, "flinkferry.dead-letter", "max.message.bytes"); got != small {
		t.Errorf("create changed the existing dead-letter topic: max.message.bytes %s", got)
	}
	out, err = runTopics(t, k, "check")
	out = squeeze(out)
	if err == nil || !strings.Contains(out, "problem: flinkferry.dead-letter: max.message.bytes 1000 is below 1000000") {
		t.Errorf("check with a small dead-letter max.message.bytes: %v\n%s", err, out)
	}
	r, _ := checkJSON(t, k)
	if got := problems(r); len(got) != 1 || strings.Join(got["flinkferry.dead-letter"], ",") != problemMaxMessageBytes {
		t.Errorf("problems = %v, want the dead-letter max.message.bytes only", got)
	}
}

// TestEnsureTopicsPassesCheck: the topics the workers create at start
// (FLINKFERRY_KAFKA_CREATE_TOPICS) are the ones the CLI checks, control
// and the dead-letter max.message.bytes included.
func TestEnsureTopicsPassesCheck(t *testing.T) {
	k, adm := topicsKafka(t)
	cfg := k.BusConfig()
	if err := bus.EnsureTopics(cfg); err != nil {
		t.Fatal(err)
	}
	if out, err := runTopics(t, k, "check", "--replicas", "6", "--min-replication", "3"); err != nil {
		t.Errorf("check after EnsureTopics: %v\n%s", err, out)
	}
	if got := topicConfig(t, adm, cfg.Topics().DeadLetter, "max.message.bytes"); got != "1048588" {
		t.Errorf("EnsureTopics: dead-letter max.message.bytes %s", got)
	}
}

func TestTopicsCreateSettings(t *testing.T) {
	k, adm := topicsKafka(t)
	t.Setenv("FLINKFERRY_KAFKA_PARTITIONS", "4")
	out, err := runTopics(t, k, "create", "--replication-factor", "-1", "--status-retention", "0", "--dead-letter-retention", "-1", "--topic-prefix", "x.")
	out = squeeze(out)
	if err != nil || strings.Count(out, "4 partitions replication 3\n") != 6 {
		t.Fatalf("create with FLINKFERRY_KAFKA_PARTITIONS=4 and the broker replication: %v\n%s", err, out)
	}
	if got := topicConfig(t, adm, "x.dead-letter", "retention.ms"); got != "-1" {
		t.Errorf("--dead-letter-retention -1: retention.ms %s", got)
	}
	// kfake's default retention (7 days), not one set on the topic.
	if got := topicConfig(t, adm, "x.status", "retention.ms"); got != "604800000" {
		t.Errorf("--status-retention 0: retention.ms %s", got)
	}

	out, err = runTopics(t, k, "create", "--replication-factor", "5", "--topic-prefix", "y.")
	out = squeeze(out)
	if err == nil || !strings.Contains(out, "failed y.submit") || !strings.Contains(out, "INVALID_REPLICATION_FACTOR") ||
		!strings.Contains(out, "at most the broker count") || err.Error() != "topics create: 6 of 6 topics not created" {
		t.Errorf("create --replication-factor 5 on 3 brokers: %v\n%s", err, out)
	}
	for _, args := range [][]string{
		{"create", "--partitions", "0"},
		{"create", "--replication-factor", "0"},
		{"create", "--status-retention", "soon"},
		{"check", "--replicas", "0"},
		{"check", "-o", "xml"},
	} {
		if _, err := runTopics(t, k, args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

func TestParseRetention(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"7d", 7 * 24 * time.Hour, true},
		{"36h", 36 * time.Hour, true},
		{"90m", 90 * time.Minute, true},
		{"0", 0, true},
		{"-1", -1, true},
		{"1.5d", 0, false},
		{"-2d", 0, false},
		{"d", 0, false},
		{"", 0, false},
		{"1us", 0, false},
	} {
		got, err := parseRetention(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("parseRetention(%q) = %v, %v; want %v, ok %v", c.in, got, err, c.want, c.ok)
		}
	}
}
