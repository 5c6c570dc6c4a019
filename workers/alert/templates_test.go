package alert

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flinkferry/flinkferry/messages"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", path, diff)
	}
}

// resolvedSample is the sample alert resolved: back to RUNNING, no
// message, no labels, no web UI.
func resolvedSample() *Notice {
	n := sampleNotice()
	n.Status, n.From, n.To, n.Reason, n.Message = StatusResolved, "FAILED", "RUNNING", "job_running", ""
	n.Labels, n.WebUIURL = nil, ""
	n.Time = n.Time.Add(90e9)
	n.Operation = &messages.OperationRef{RequestID: "resume-1", Operation: messages.OpResume, Status: messages.OperationCompleted}
	return n
}

func TestShippedTemplatesRenderValidJSON(t *testing.T) {
	for _, name := range TemplateNames() {
		tmpl, err := shippedTemplate(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			status string
			notice *Notice
		}{{"firing", sampleNotice()}, {"resolved", resolvedSample()}} {
			t.Run(name+"/"+tc.status, func(t *testing.T) {
				body, err := render(tmpl, tc.notice, 65536)
				if err != nil {
					t.Fatal(err)
				}
				if !json.Valid(body) {
					t.Fatalf("%s renders invalid JSON:\n%s", name, body)
				}
				golden(t, filepath.Join("templates", name+"."+tc.status+".golden"), body)
			})
		}
	}
}

func TestGenericJSONCarriesTheEvent(t *testing.T) {
	tmpl, err := shippedTemplate("json")
	if err != nil {
		t.Fatal(err)
	}
	body, err := render(tmpl, sampleNotice(), 65536)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"status": "firing", "state": "FAILED", "from": "RUNNING", "reason": "job_failed", "key": "/flink-jobs/wordcount",
		"web_ui_url": "http://127.0.0.1:8081/flink-jobs/wordcount/", "time": "2026-11-28T10:00:42Z", "rule": "job-failed",
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	if job, _ := got["job"].(map[string]any); job["cluster_id"] != "wordcount" {
		t.Errorf("job = %v, want cluster_id wordcount", got["job"])
	}
	if labels, _ := got["labels"].(map[string]any); labels["team"] != "data" {
		t.Errorf("labels = %v, want team=data", got["labels"])
	}
}

func TestTemplatesBoundTheMessage(t *testing.T) {
	n := sampleNotice()
	n.Message = strings.Repeat("é", 10000)
	for _, name := range TemplateNames() {
		tmpl, _ := shippedTemplate(name)
		body, err := render(tmpl, n, 65536)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !json.Valid(body) || len(body) > 8192+2048 {
			t.Errorf("%s: %d bytes (valid JSON %v), want a bounded valid body", name, len(body), json.Valid(body))
		}
	}
	tmpl, _ := parseBody("big", `{{.Message}}{{.Message}}`)
	if _, err := render(tmpl, n, 1024); err == nil || !strings.Contains(err.Error(), "more than 1024") {
		t.Errorf("render of an oversized body = %v, want refused", err)
	}
}

func TestTruncateKeepsRunes(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"abcdefgh", 6, "abc…"},
		{"ééé", 5, "é…"},
		{"éééé", 6, "é…"},
		{"é", 1, ""},
	} {
		if got := truncate(tc.s, tc.n); got != tc.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}

func TestEmailBodiesGolden(t *testing.T) {
	text, html, err := emailTemplates()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		status string
		notice *Notice
	}{{"firing", sampleNotice()}, {"resolved", resolvedSample()}} {
		var tb, hb strings.Builder
		if err := text.Execute(&tb, tc.notice); err != nil {
			t.Fatal(err)
		}
		if err := html.Execute(&hb, tc.notice); err != nil {
			t.Fatal(err)
		}
		golden(t, "templates/email.text."+tc.status+".golden", []byte(tb.String()))
		golden(t, "templates/email.html."+tc.status+".golden", []byte(hb.String()))
	}
}
