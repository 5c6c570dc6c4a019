package alert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/mail"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"text/template"
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

// Match is a predicate over one JobStatusChanged. Every list that is set
// must contain the event's value; Labels must all be equal.
type Match struct {
	// To lists the states (the event's to) that fire.
	To []messages.JobState
	// OperationFailed fires on an event whose operation.status is failed.
	// An event fires when its state is in To or, with OperationFailed, its
	// operation failed.
	OperationFailed bool
	// Labels must all be present with these values.
	Labels map[string]string
	// KubeClusters are Kubernetes cluster names; "default" also matches
	// the workers' default cluster (an empty job.kube_cluster).
	KubeClusters []string
	// Namespaces are Kubernetes namespaces.
	Namespaces []string
	// Modes are application, session or session-cluster.
	Modes []messages.Mode
}

// Matches reports whether ev fires the alert.
func (m Match) Matches(ev *messages.JobStatusChanged) bool {
	fires := slices.Contains(m.To, ev.To) ||
		(m.OperationFailed && ev.Operation != nil && ev.Operation.Status == messages.OperationFailed)
	return fires && m.Selects(ev.Job, ev.Labels, ev.Mode)
}

// Selects reports whether the job (identity, labels, mode) passes the
// labels, kube cluster, namespace and mode filters.
func (m Match) Selects(job messages.JobRef, labels map[string]string, mode messages.Mode) bool {
	for k, v := range m.Labels {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	if len(m.KubeClusters) > 0 {
		kc := job.KubeCluster
		if !slices.Contains(m.KubeClusters, kc) && !(kc == "" && slices.Contains(m.KubeClusters, "default")) {
			return false
		}
	}
	if len(m.Namespaces) > 0 && !slices.Contains(m.Namespaces, job.Namespace) {
		return false
	}
	if len(m.Modes) > 0 && !slices.Contains(m.Modes, mode) {
		return false
	}
	return true
}

// ChannelSpec is a channel as the rules file declares it.
type ChannelSpec struct {
	// Name is how rules refer to the channel.
	Name string
	// Type is webhook, alertmanager or email.
	Type string
	// URL receives the POST (webhook), or is the Alertmanager's base URL
	// (alertmanager). It may carry a token: it is never logged.
	URL string
	// URLEnv names the environment variable holding URL instead (read at
	// start), so a URL that is a credential stays out of the rules file.
	URLEnv string
	// Template is a shipped template (slack, teams, dingtalk, wecom, lark,
	// json), or "" when Body is set.
	Template string
	// Body is a custom Go text/template for the request body.
	Body string
	// ContentType of the body (default application/json).
	ContentType string
	// Headers are added to every request (values never logged).
	Headers map[string]string
	// SecretEnv or SecretFile hold the HMAC-SHA256 key; neither means
	// unsigned requests.
	SecretEnv, SecretFile string
	// SMTP is an email channel's server, sender and recipients.
	SMTP SMTPSpec
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

var namePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9_.-]{0,62})$`)

// envNamePattern is a POSIX environment variable name.
var envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

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

// walker decodes the generic JSON tree, collecting problems with paths.
type walker struct{ problems []string }

func (w *walker) addf(path, format string, args ...any) {
	w.problems = append(w.problems, path+": "+fmt.Sprintf(format, args...))
}

func (w *walker) err() error {
	if len(w.problems) == 0 {
		return nil
	}
	return &RulesError{Problems: w.problems}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// object returns v as an object, reporting keys not in allowed.
func (w *walker) object(path string, v any, allowed ...string) map[string]any {
	if path == "" && v == nil {
		w.addf("(file)", "empty: want channels and rules")
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		w.addf(orRoot(path), "must be a mapping, got %s", kind(v))
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			w.addf(join(path, k), "unknown field (known: %s)", strings.Join(allowed, ", "))
		}
	}
	return m
}

func orRoot(path string) string {
	if path == "" {
		return "(file)"
	}
	return path
}

func (w *walker) list(path string, v any, required bool) []any {
	if v == nil {
		if required {
			w.addf(path, "required")
		}
		return nil
	}
	l, ok := v.([]any)
	if !ok {
		w.addf(path, "must be a list, got %s", kind(v))
		return nil
	}
	if required && len(l) == 0 {
		w.addf(path, "must not be empty")
	}
	return l
}

func (w *walker) str(path string, v any, required bool) string {
	if v == nil {
		if required {
			w.addf(path, "required")
		}
		return ""
	}
	s, ok := v.(string)
	if !ok {
		w.addf(path, "must be a string, got %s", kind(v))
		return ""
	}
	if required && s == "" {
		w.addf(path, "must not be empty")
	}
	return s
}

func (w *walker) strList(path string, v any) []string {
	var out []string
	for i, e := range w.list(path, v, false) {
		out = append(out, w.str(fmt.Sprintf("%s[%d]", path, i), e, true))
	}
	return out
}

func (w *walker) strMap(path string, v any) map[string]string {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		w.addf(path, "must be a mapping, got %s", kind(v))
		return nil
	}
	out := make(map[string]string, len(m))
	for k, e := range m {
		out[k] = w.str(join(path, k), e, false)
	}
	return out
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, json.Number:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}

func (w *walker) name(path string, v any) string {
	n := w.str(path, v, true)
	if n != "" && !namePattern.MatchString(n) {
		w.addf(path, "must be 1 to 63 of a-z, 0-9, '.', '_', '-' starting with a letter or digit, got %q", clip(n))
	}
	return n
}

// Channel types.
const (
	TypeWebhook      = "webhook"
	TypeAlertmanager = "alertmanager"
	TypeEmail        = "email"
)

// channelFields are the fields each channel type may set besides name and
// type.
var channelFields = map[string][]string{
	TypeWebhook:      {"url", "url_env", "template", "body", "content_type", "headers", "hmac"},
	TypeAlertmanager: {"url", "url_env", "headers"},
	TypeEmail:        {"smtp", "from", "to", "subject"},
}

func (w *walker) channel(path string, v any) ChannelSpec {
	m := w.object(path, v, "name", "type", "url", "url_env", "template", "body", "content_type", "headers", "hmac", "smtp", "from", "to", "subject")
	if m == nil {
		return ChannelSpec{}
	}
	c := ChannelSpec{
		Name: w.name(join(path, "name"), m["name"]),
		Type: w.str(join(path, "type"), m["type"], false),
	}
	if c.Type == "" {
		c.Type = TypeWebhook
	}
	allowed, ok := channelFields[c.Type]
	if !ok {
		w.addf(join(path, "type"), "must be webhook, alertmanager or email, got %q", clip(c.Type))
		return c
	}
	for _, k := range []string{"url", "url_env", "template", "body", "content_type", "headers", "hmac", "smtp", "from", "to", "subject"} {
		if _, set := m[k]; set && !slices.Contains(allowed, k) {
			w.addf(join(path, k), "not a field of %s channels (theirs: %s)", c.Type, strings.Join(allowed, ", "))
			delete(m, k)
		}
	}
	switch c.Type {
	case TypeWebhook:
		w.webhook(path, m, &c)
	case TypeAlertmanager:
		w.url(path, m, &c)
		w.headers(path, m, &c)
	case TypeEmail:
		w.email(path, m, &c)
	}
	return c
}

// url reads url, or url_env: the name of a variable holding it (a URL
// that is itself a credential stays out of the rules file).
func (w *walker) url(path string, m map[string]any, c *ChannelSpec) {
	c.URL = w.str(join(path, "url"), m["url"], false)
	c.URLEnv = w.str(join(path, "url_env"), m["url_env"], false)
	switch {
	case (c.URL == "") == (c.URLEnv == ""):
		w.addf(join(path, "url"), "set exactly one of url and url_env")
	case c.URL != "":
		if err := checkWebhookURL(c.URL); err != nil {
			w.addf(join(path, "url"), "%v", err)
		}
	default:
		w.secretEnv(join(path, "url_env"), c.URLEnv)
	}
}

func (w *walker) headers(path string, m map[string]any, c *ChannelSpec) {
	c.Headers = w.strMap(join(path, "headers"), m["headers"])
	for k := range c.Headers {
		if !validHeaderName(k) {
			w.addf(join(join(path, "headers"), k), "not a valid HTTP header name")
		}
	}
}

func (w *walker) webhook(path string, m map[string]any, c *ChannelSpec) {
	w.url(path, m, c)
	c.Template = w.str(join(path, "template"), m["template"], false)
	c.Body = w.str(join(path, "body"), m["body"], false)
	c.ContentType = w.str(join(path, "content_type"), m["content_type"], false)
	switch {
	case c.Template != "" && c.Body != "":
		w.addf(join(path, "body"), "set template or body, not both")
	case c.Body != "":
		if _, err := parseBody(c.Name, c.Body); err != nil {
			w.addf(join(path, "body"), "%v", err)
		}
	default:
		if c.Template == "" {
			c.Template = "json"
		}
		if !slices.Contains(TemplateNames(), c.Template) {
			w.addf(join(path, "template"), "must be one of %s, got %q", strings.Join(TemplateNames(), ", "), clip(c.Template))
		}
	}
	if c.ContentType == "" {
		c.ContentType = "application/json"
	}
	w.headers(path, m, c)
	if h := m["hmac"]; h != nil {
		hp := join(path, "hmac")
		hm := w.object(hp, h, "secret_env", "secret_file")
		if hm != nil {
			c.SecretEnv = w.str(join(hp, "secret_env"), hm["secret_env"], false)
			c.SecretFile = w.str(join(hp, "secret_file"), hm["secret_file"], false)
			if (c.SecretEnv == "") == (c.SecretFile == "") {
				w.addf(hp, "set exactly one of secret_env and secret_file")
			} else {
				w.secretEnv(join(hp, "secret_env"), c.SecretEnv)
			}
		}
	}
}

// secretEnv checks the name of a variable holding a secret.
func (w *walker) secretEnv(path, name string) {
	switch {
	case name == "":
	case !envNamePattern.MatchString(name):
		w.addf(path, "not an environment variable name")
	case strings.HasPrefix(name, "FLINKFERRY_"):
		// Unknown FLINKFERRY_* variables stop every worker (typo check).
		w.addf(path, "must not start with FLINKFERRY_ (workers refuse FLINKFERRY_ variables they do not declare)")
	}
}

func (w *walker) email(path string, m map[string]any, c *ChannelSpec) {
	sp := join(path, "smtp")
	s := SMTPSpec{
		From:    w.str(join(path, "from"), m["from"], true),
		To:      w.strList(join(path, "to"), m["to"]),
		Subject: w.str(join(path, "subject"), m["subject"], false),
	}
	if m["to"] == nil {
		w.addf(join(path, "to"), "required")
	}
	if s.From != "" {
		if _, err := mail.ParseAddress(s.From); err != nil {
			w.addf(join(path, "from"), "not an email address: %v", err)
		}
	}
	for i, r := range s.To {
		if _, err := mail.ParseAddress(r); r != "" && err != nil {
			w.addf(fmt.Sprintf("%s.to[%d]", path, i), "not an email address: %v", err)
		}
	}
	if s.Subject != "" {
		if _, err := parseBody(c.Name, s.Subject); err != nil {
			w.addf(join(path, "subject"), "%v", err)
		}
	}
	if m["smtp"] == nil {
		w.addf(sp, "required")
	} else if sm := w.object(sp, m["smtp"], "address", "starttls", "username", "password_env", "password_file", "ca_file", "insecure_skip_verify"); sm != nil {
		s.Address = w.str(join(sp, "address"), sm["address"], true)
		s.StartTLS = w.str(join(sp, "starttls"), sm["starttls"], false)
		s.Username = w.str(join(sp, "username"), sm["username"], false)
		s.PasswordEnv = w.str(join(sp, "password_env"), sm["password_env"], false)
		s.PasswordFile = w.str(join(sp, "password_file"), sm["password_file"], false)
		s.CAFile = w.str(join(sp, "ca_file"), sm["ca_file"], false)
		if v := sm["insecure_skip_verify"]; v != nil {
			b, ok := v.(bool)
			if !ok {
				w.addf(join(sp, "insecure_skip_verify"), "must be a boolean, got %s", kind(v))
			}
			s.InsecureSkipVerify = b
		}
		if s.Address != "" {
			if _, port, err := net.SplitHostPort(s.Address); err != nil || port == "" {
				w.addf(join(sp, "address"), "must be host:port")
			}
		}
		if s.StartTLS == "" {
			s.StartTLS = StartTLSRequired
		}
		if !slices.Contains([]string{StartTLSRequired, StartTLSOpportunistic, StartTLSOff}, s.StartTLS) {
			w.addf(join(sp, "starttls"), "must be required, opportunistic or off, got %q", clip(s.StartTLS))
		}
		switch {
		case s.PasswordEnv != "" && s.PasswordFile != "":
			w.addf(sp, "set at most one of password_env and password_file")
		case s.Username == "" && (s.PasswordEnv != "" || s.PasswordFile != ""):
			w.addf(join(sp, "username"), "required with a password")
		case s.Username != "" && s.PasswordEnv == "" && s.PasswordFile == "":
			w.addf(sp, "username needs password_env or password_file")
		}
		w.secretEnv(join(sp, "password_env"), s.PasswordEnv)
	}
	c.SMTP = s
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

// clip bounds a user-written value quoted in an error.
func clip(s string) string { return truncate(s, 64) }

// parseBody parses a custom body template.
func parseBody(name, body string) (*template.Template, error) {
	return template.New(name).Funcs(funcs).Option("missingkey=error").Parse(body)
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
