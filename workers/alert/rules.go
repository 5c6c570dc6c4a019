package alert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/flinkferry/flinkferry/messages"
)

// Severities a rule may carry.
var severities = []string{"critical", "warning", "info"}

// Rule turns matching status events into alerts. Each (rule, job) pair is
// one alert with a stable fingerprint.
//
// A rule either matches status events (Match.To, Match.OperationFailed)
// or holds a Condition over time, evaluated periodically (and on status
// events for restarts); Match's other fields select jobs in both.
type Rule struct {
	// Name identifies the rule (part of the fingerprint).
	Name string
	// Severity is critical, warning or info.
	Severity string
	// Match says which events fire the alert; any other event of the job
	// resolves it.
	Match Match
	// Condition, when set, makes the rule a condition over time: Match
	// then only selects the jobs (labels, cluster, namespace, mode).
	Condition *Condition
	// Channels are the names of the channels notified.
	Channels []string
}

// Rules is a loaded rules file.
type Rules struct {
	Channels []ChannelSpec
	Rules    []Rule
}

// LoadRules reads and validates a rules file. Every problem is reported
// with its field path (rules[1].match.to[0]).
func LoadRules(path string) (*Rules, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading rules file: %w", err)
	}
	return ParseRules(b)
}

// ParseRules decodes and validates a rules file's YAML.
func ParseRules(data []byte) (*Rules, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("rules file is not valid YAML: %w", err)
	}
	var root any
	dec := json.NewDecoder(bytes.NewReader(js))
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("rules file: %w", err)
	}
	var w walker
	rs := &Rules{}
	top := w.object("", root, "channels", "rules")
	for i, c := range w.list("channels", top["channels"], true) {
		rs.Channels = append(rs.Channels, w.channel(fmt.Sprintf("channels[%d]", i), c))
	}
	seen := map[string]int{}
	for i, c := range rs.Channels {
		if j, dup := seen[c.Name]; dup && c.Name != "" {
			w.addf(fmt.Sprintf("channels[%d].name", i), "%q is also channels[%d]", c.Name, j)
		}
		seen[c.Name] = i
	}
	for i, r := range w.list("rules", top["rules"], true) {
		rs.Rules = append(rs.Rules, w.rule(fmt.Sprintf("rules[%d]", i), r, seen))
	}
	ruleSeen := map[string]int{}
	for i, r := range rs.Rules {
		if j, dup := ruleSeen[r.Name]; dup && r.Name != "" {
			w.addf(fmt.Sprintf("rules[%d].name", i), "%q is also rules[%d]", r.Name, j)
		}
		ruleSeen[r.Name] = i
	}
	if err := w.err(); err != nil {
		return nil, err
	}
	return rs, nil
}

// RulesError lists every problem of a rules file, one "path: problem" per
// line (at most 50 lines).
type RulesError struct{ Problems []string }

func (e *RulesError) Error() string {
	const maxLines = 50
	lines := e.Problems
	more := 0
	if len(lines) > maxLines {
		more = len(lines) - maxLines
		lines = lines[:maxLines]
	}
	s := "invalid rules file:\n  " + strings.Join(lines, "\n  ")
	if more > 0 {
		s += fmt.Sprintf("\n  and %d more", more)
	}
	return s
}

func (w *walker) rule(path string, v any, channels map[string]int) Rule {
	m := w.object(path, v, "name", "severity", "match", "condition", "channels")
	if m == nil {
		return Rule{}
	}
	r := Rule{
		Name:     w.name(join(path, "name"), m["name"]),
		Severity: w.str(join(path, "severity"), m["severity"], false),
	}
	if r.Severity == "" {
		r.Severity = "warning"
	}
	if !slices.Contains(severities, r.Severity) {
		w.addf(join(path, "severity"), "must be one of %s, got %q", strings.Join(severities, ", "), clip(r.Severity))
	}
	if c := m["condition"]; c != nil {
		r.Condition = w.condition(join(path, "condition"), c)
	}
	mp := join(path, "match")
	var mm map[string]any
	if r.Condition != nil && m["match"] == nil {
		mm = map[string]any{} // a condition over every job
	} else {
		mm = w.object(mp, m["match"], "to", "operation_failed", "labels", "kube_cluster", "namespace", "mode")
	}
	if mm != nil {
		for i, s := range w.strList(join(mp, "to"), mm["to"]) {
			st := messages.JobState(s)
			if !st.IsKnown() {
				w.addf(fmt.Sprintf("%s.to[%d]", mp, i), "unknown state %q (known: %s)", clip(s), knownStates())
			}
			r.Match.To = append(r.Match.To, st)
		}
		if of := mm["operation_failed"]; of != nil {
			b, ok := of.(bool)
			if !ok {
				w.addf(join(mp, "operation_failed"), "must be a boolean, got %s", kind(of))
			}
			r.Match.OperationFailed = b
		}
		switch {
		case r.Condition != nil && (len(r.Match.To) > 0 || r.Match.OperationFailed):
			w.addf(mp, "a rule with a condition selects jobs by labels, kube_cluster, namespace and mode only (not to or operation_failed)")
		case r.Condition == nil && len(r.Match.To) == 0 && !r.Match.OperationFailed:
			w.addf(mp, "set to (states) or operation_failed: true, or give the rule a condition")
		}
		r.Match.Labels = w.strMap(join(mp, "labels"), mm["labels"])
		r.Match.KubeClusters = w.strList(join(mp, "kube_cluster"), mm["kube_cluster"])
		r.Match.Namespaces = w.strList(join(mp, "namespace"), mm["namespace"])
		for i, s := range w.strList(join(mp, "mode"), mm["mode"]) {
			md := messages.Mode(s)
			switch md {
			case messages.ModeApplication, messages.ModeSession, messages.ModeSessionCluster:
			default:
				w.addf(fmt.Sprintf("%s.mode[%d]", mp, i), "must be application, session or session-cluster, got %q", clip(s))
			}
			r.Match.Modes = append(r.Match.Modes, md)
		}
	}
	for i, c := range w.list(join(path, "channels"), m["channels"], true) {
		p := fmt.Sprintf("%s.channels[%d]", path, i)
		n := w.str(p, c, true)
		if _, ok := channels[n]; n != "" && !ok {
			w.addf(p, "unknown channel %q", clip(n))
		}
		r.Channels = append(r.Channels, n)
	}
	return r
}

func knownStates() string {
	var s []string
	for _, st := range messages.JobStates() {
		s = append(s, string(st))
	}
	return strings.Join(s, ", ")
}

// maxConditionWindow bounds a condition's window or duration.
const maxConditionWindow = 30 * 24 * time.Hour

func (w *walker) condition(path string, v any) *Condition {
	m := w.object(path, v, "restarts", "failed_checkpoints", "no_checkpoint_for", "not_running_after")
	if m == nil {
		return nil
	}
	c := &Condition{}
	set := 0
	if v := m["restarts"]; v != nil {
		set++
		c.Restarts = w.countWindow(join(path, "restarts"), v, "more_than", 0)
	}
	if v := m["failed_checkpoints"]; v != nil {
		set++
		c.FailedCheckpoints = w.countWindow(join(path, "failed_checkpoints"), v, "at_least", 1)
	}
	if v := m["no_checkpoint_for"]; v != nil {
		set++
		c.NoCheckpointFor = w.duration(join(path, "no_checkpoint_for"), v)
	}
	if v := m["not_running_after"]; v != nil {
		set++
		c.NotRunningAfter = w.duration(join(path, "not_running_after"), v)
	}
	if set != 1 {
		w.addf(path, "set exactly one of restarts, failed_checkpoints, no_checkpoint_for, not_running_after")
	}
	return c
}

// countWindow reads {<countKey>: N, window: D}; N must be >= minCount.
func (w *walker) countWindow(path string, v any, countKey string, minCount int) *CountWindow {
	m := w.object(path, v, countKey, "window")
	if m == nil {
		return &CountWindow{}
	}
	cw := &CountWindow{Window: w.duration(join(path, "window"), m["window"])}
	switch n := m[countKey].(type) {
	case nil:
		w.addf(join(path, countKey), "required")
	case float64:
		if n != float64(int(n)) || int(n) < minCount || n > 1e6 {
			w.addf(join(path, countKey), "must be a whole number from %d to 1000000, got %v", minCount, n)
		}
		cw.Count = int(n)
	default:
		w.addf(join(path, countKey), "must be a number, got %s", kind(n))
	}
	return cw
}

// duration reads a Go duration ("10m", "1h30m"), positive and at most 30
// days.
func (w *walker) duration(path string, v any) time.Duration {
	s := w.str(path, v, true)
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > maxConditionWindow {
		w.addf(path, "must be a duration such as 90s, 10m or 2h, above 0 and at most 720h, got %q", clip(s))
		return 0
	}
	return d
}
