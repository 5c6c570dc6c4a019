package alert

import (
	"fmt"
	"net"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"text/template"
)

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

// envNamePattern is a POSIX environment variable name.
var envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// parseBody parses a custom body template.
func parseBody(name, body string) (*template.Template, error) {
	return template.New(name).Funcs(funcs).Option("missingkey=error").Parse(body)
}
