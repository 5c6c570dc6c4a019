package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
)

var eventsT0 = time.Date(2026, 11, 28, 10, 1, 2, 0, time.UTC)

// wordcountRequest is the request the events of the tests are about
// (validYAML: wc-1, flink-jobs/wordcount).
func wordcountRequest(t *testing.T) *messages.SubmitRequested {
	t.Helper()
	req, _, err := LoadSubmitRequest("wordcount.yaml", []byte(validYAML))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// produceStatus sends events to the status topic, in order (one job key,
// so one partition).
func produceStatus(t *testing.T, cfg bus.Config, evs ...messages.Event) {
	t.Helper()
	p, err := bus.NewProducer(cfg, "test/events")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, ev := range evs {
		if err := p.Send(context.Background(), ev, cfg.Topics().Status); err != nil {
			t.Fatal(err)
		}
	}
}

// runEventsCmd runs `flinkferry events --brokers ... args...` and returns
// stdout and stderr.
func runEventsCmd(ctx context.Context, cfg bus.Config, args ...string) (string, string, error) {
	root := New()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"events", "--brokers", strings.Join(cfg.Brokers, ",")}, args...))
	err := root.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

// statusEvents produces a transition, an image built, a garbage record
// and a failed deployment of the same job.
func statusEvents(t *testing.T, k *testenv.KafkaCluster, cfg bus.Config) {
	t.Helper()
	wordcountReq := wordcountRequest(t)
	built := imageBuilt(wordcountReq)
	built.Time = eventsT0.Add(-20 * time.Second)
	changed := stateChanged(wordcountReq, messages.StateStarting, messages.StateRunning, "job_running", "")
	changed.Time = eventsT0
	failed := &messages.DeployFailed{RequestID: "wc-1", Job: wordcountReq.Job, Mode: messages.ModeApplication,
		Reason: messages.DeployReasonImagePullFailed, Message: "back-off pulling image", Time: eventsT0.Add(time.Second)}
	// One client and partitioner for all four, so they share a partition
	// and keep their order.
	encode := func(ev messages.Event) {
		key, h, v, err := messages.Encode(ev, messages.Envelope{Source: "test/events"})
		if err != nil {
			t.Fatal(err)
		}
		k.Produce(t, cfg.Topics().Status, key, v, h)
	}
	encode(built)
	encode(changed)
	k.Produce(t, cfg.Topics().Status, wordcountReq.Job.Key(), []byte("not json {"), nil)
	encode(failed)
}

func TestEventsPrintsHumanLinesAndWarnsOnGarbage(t *testing.T) {
	k, cfg := submitKafka(t)
	statusEvents(t, k, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, errOut, err := runEventsCmd(ctx, cfg, "--from-beginning", "--max", "3")
	if err != nil {
		t.Fatal(err)
	}
	want := "2026-11-28T10:00:42Z  /flink-jobs/wordcount  image built sha256:3b2c4d5e6f70 700.0 MiB 5.23s\n" +
		"2026-11-28T10:01:02Z  /flink-jobs/wordcount  STARTING → RUNNING  (job_running)  http://127.0.0.1:8081/flink-jobs/wordcount/\n" +
		"2026-11-28T10:01:03Z  /flink-jobs/wordcount  deploy failed image_pull_failed: back-off pulling image\n"
	if out != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
	}
	if !strings.HasPrefix(errOut, "warning: flinkferry.status partition ") || !strings.Contains(errOut, "undecodable record") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("stderr = %q, want one warning line", errOut)
	}
}

func TestEventsPrintsJSONLines(t *testing.T) {
	k, cfg := submitKafka(t)
	statusEvents(t, k, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, _, err := runEventsCmd(ctx, cfg, "--from-beginning", "--max", "3", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	wantTypes := []string{messages.TypeImageBuilt, messages.TypeJobStatusChanged, messages.TypeDeployFailed}
	if len(lines) != len(wantTypes) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(wantTypes), out)
	}
	for i, l := range lines {
		var got struct {
			Type string          `json:"type"`
			ID   string          `json:"id"`
			Time time.Time       `json:"time"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal([]byte(l), &got); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", i, err, l)
		}
		if got.Type != wantTypes[i] || got.ID == "" || got.Time.IsZero() {
			t.Errorf("line %d = %s", i, l)
		}
		ev, err := messages.Decode(got.Type, got.Data)
		if err != nil {
			t.Errorf("line %d data does not decode as %s: %v", i, got.Type, err)
		} else if ev.JobKey() != "/flink-jobs/wordcount" {
			t.Errorf("line %d is about %s", i, ev.JobKey())
		}
	}
	if !strings.Contains(lines[1], `"to":"RUNNING"`) {
		t.Errorf("status line lacks the state: %s", lines[1])
	}
}

func TestEventsStartsAtTheEndByDefault(t *testing.T) {
	_, cfg := submitKafka(t)
	wordcountReq := wordcountRequest(t)
	old := stateChanged(wordcountReq, "", messages.StateStarting, "old_event", "")
	produceStatus(t, cfg, old)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, _, err := runEventsCmd(ctx, cfg, "--max", "1")
		done <- result{out, err}
	}()
	// The command lists the end offsets when it starts: new events are sent
	// until it has printed one.
	for {
		select {
		case r := <-done:
			if r.err != nil {
				t.Fatal(r.err)
			}
			if strings.Contains(r.out, "old_event") || !strings.Contains(r.out, "new_event") || strings.Count(r.out, "\n") != 1 {
				t.Errorf("output = %q, want one new event", r.out)
			}
			return
		case <-time.After(200 * time.Millisecond):
			produceStatus(t, cfg, stateChanged(wordcountReq, messages.StateStarting, messages.StateRunning, "new_event", ""))
		}
	}
}

func TestEventsRefusesAnUnknownFormat(t *testing.T) {
	_, cfg := submitKafka(t)
	_, _, err := runEventsCmd(context.Background(), cfg, "-o", "xml")
	if err == nil || !strings.Contains(err.Error(), "unknown output format") {
		t.Errorf("events -o xml = %v", err)
	}
}
