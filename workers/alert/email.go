package alert

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strings"
	"text/template"
	"time"
)

//go:embed templates/email/*.tmpl
var emailFS embed.FS

// STARTTLS modes of an email channel.
const (
	// StartTLSRequired refuses a server that does not offer STARTTLS.
	StartTLSRequired = "required"
	// StartTLSOpportunistic upgrades when the server offers it.
	StartTLSOpportunistic = "opportunistic"
	// StartTLSOff never upgrades (net/smtp then refuses to send a
	// password except to localhost).
	StartTLSOff = "off"
)

// Email sends each notice as one message (text and HTML alternatives) to
// the channel's recipients over SMTP, upgrading with STARTTLS and
// authenticating with PLAIN when a username is set. The password is read
// at start and appears in no log and no error.
type Email struct {
	name     string
	addr     string // host:port
	host     string
	from     *mail.Address
	to       []*mail.Address
	username string
	password string
	starttls string
	tls      *tls.Config
	subject  *template.Template
	text     *template.Template
	html     *htmltemplate.Template
	retry    Retry
	metrics  *metrics
	now      func() time.Time
	sleep    func(ctx context.Context, d time.Duration) error
}

// Name returns the channel's name.
func (e *Email) Name() string { return e.name }

// SMTPSpec is an email channel's server and message settings.
type SMTPSpec struct {
	// Address is host:port of the SMTP server (submission port 587 is
	// usual).
	Address string
	// StartTLS is required (default), opportunistic or off.
	StartTLS string
	// Username enables SMTP AUTH PLAIN with the password of PasswordEnv
	// or PasswordFile.
	Username                  string
	PasswordEnv, PasswordFile string
	// CAFile holds PEM certificates trusted for the server (added to the
	// system's); InsecureSkipVerify disables the check (tests only).
	CAFile             string
	InsecureSkipVerify bool
	// From and To are RFC 5322 addresses.
	From string
	To   []string
	// Subject is a Go template of the subject line (default: the
	// notice's summary).
	Subject string
}

const defaultSubject = "{{.Summary}}"

func newEmail(s ChannelSpec, a AlertConfig, m *metrics) (*Email, error) {
	sp := s.SMTP
	host, _, err := net.SplitHostPort(sp.Address)
	if err != nil {
		return nil, fmt.Errorf("smtp.address: %w", err)
	}
	from, err := mail.ParseAddress(sp.From)
	if err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	var to []*mail.Address
	for i, r := range sp.To {
		ad, err := mail.ParseAddress(r)
		if err != nil {
			return nil, fmt.Errorf("to[%d]: %w", i, err)
		}
		to = append(to, ad)
	}
	e := &Email{name: s.Name, addr: sp.Address, host: host, from: from, to: to, username: sp.Username,
		starttls: sp.StartTLS, retry: a.retry(), metrics: m, now: time.Now, sleep: sleepCtx}
	if e.starttls == "" {
		e.starttls = StartTLSRequired
	}
	switch {
	case sp.PasswordEnv != "":
		v, ok := os.LookupEnv(sp.PasswordEnv)
		if !ok || v == "" {
			return nil, fmt.Errorf("smtp.password_env: %s is not set", sp.PasswordEnv)
		}
		e.password = v
	case sp.PasswordFile != "":
		b, err := os.ReadFile(sp.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("smtp.password_file: %w", err)
		}
		e.password = strings.TrimRight(string(b), "\r\n")
	}
	e.tls = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: sp.InsecureSkipVerify} //nolint:gosec // opt-in, documented for tests
	if sp.CAFile != "" {
		pem, err := os.ReadFile(sp.CAFile)
		if err != nil {
			return nil, fmt.Errorf("smtp.ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("smtp.ca_file: no PEM certificate in it")
		}
		e.tls.RootCAs = pool
	}
	subject := sp.Subject
	if subject == "" {
		subject = defaultSubject
	}
	if e.subject, err = parseBody(s.Name+"-subject", subject); err != nil {
		return nil, fmt.Errorf("subject: %w", err)
	}
	if e.text, e.html, err = emailTemplates(); err != nil {
		return nil, err
	}
	if _, err := e.message(sampleNotice()); err != nil {
		return nil, err
	}
	return e, nil
}

// emailTemplates parses the shipped text and HTML bodies.
func emailTemplates() (*template.Template, *htmltemplate.Template, error) {
	tb, err := emailFS.ReadFile("templates/email/text.tmpl")
	if err != nil {
		return nil, nil, err
	}
	hb, err := emailFS.ReadFile("templates/email/html.tmpl")
	if err != nil {
		return nil, nil, err
	}
	text, err := parseBody("email-text", string(tb))
	if err != nil {
		return nil, nil, err
	}
	html, err := htmltemplate.New("email-html").Funcs(htmltemplate.FuncMap(funcs)).Option("missingkey=error").Parse(string(hb))
	if err != nil {
		return nil, nil, err
	}
	return text, html, nil
}

// message renders n as an RFC 5322 message: multipart/alternative with a
// quoted-printable text/plain and text/html part.
func (e *Email) message(n *Notice) ([]byte, error) {
	var subj, text, html bytes.Buffer
	if err := e.subject.Execute(&subj, n); err != nil {
		return nil, fmt.Errorf("rendering subject: %w", err)
	}
	if err := e.text.Execute(&text, n); err != nil {
		return nil, fmt.Errorf("rendering text body: %w", err)
	}
	if err := e.html.Execute(&html, n); err != nil {
		return nil, fmt.Errorf("rendering HTML body: %w", err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, p := range []struct {
		ctype string
		b     []byte
	}{{"text/plain; charset=utf-8", text.Bytes()}, {"text/html; charset=utf-8", html.Bytes()}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {p.ctype}, "Content-Transfer-Encoding": {"quoted-printable"}})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write(p.b); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	to := make([]string, len(e.to))
	for i, a := range e.to {
		to[i] = a.String()
	}
	line := strings.Join(strings.Fields(subj.String()), " ") // one line: no header injection
	var msg bytes.Buffer
	hdr := func(k, v string) { fmt.Fprintf(&msg, "%s: %s\r\n", k, v) }
	hdr("From", e.from.String())
	hdr("To", strings.Join(to, ", "))
	hdr("Subject", mime.QEncoding.Encode("utf-8", truncate(line, 900)))
	hdr("Date", e.now().UTC().Format(time.RFC1123Z))
	hdr("Message-ID", fmt.Sprintf("<%s.%s.%d@flinkferry>", n.Fingerprint, n.Status, n.Time.UnixMilli()))
	hdr("X-Flinkferry-Fingerprint", n.Fingerprint)
	hdr("X-Flinkferry-Status", n.Status)
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "multipart/alternative; boundary="+mw.Boundary())
	msg.WriteString("\r\n")
	msg.Write(body.Bytes())
	return msg.Bytes(), nil
}

// Deliver renders n and sends it, retrying network errors and 4xx SMTP
// replies within the retry budget; 5xx replies are refusals.
func (e *Email) Deliver(ctx context.Context, n *Notice) error {
	msg, err := e.message(n)
	if err != nil {
		e.metrics.failed.WithLabelValues(e.name).Inc()
		return &DeliveryError{Channel: e.name, Err: err}
	}
	return deliver(ctx, e.name, n.Status, e.retry, e.metrics, e.now, e.sleep, func(ctx context.Context, timeout time.Duration) error {
		return e.send(ctx, msg, timeout)
	})
}

// send runs one SMTP session bounded by timeout.
func (e *Email) send(ctx context.Context, msg []byte, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", e.addr)
	if err != nil {
		return fmt.Errorf("connecting to the SMTP server: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, e.host)
	if err != nil {
		conn.Close()
		return smtpError("greeting", err)
	}
	defer c.Close()
	if err := c.Hello("flinkferry"); err != nil {
		return smtpError("EHLO", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok && e.starttls != StartTLSOff {
		if err := c.StartTLS(e.tls); err != nil {
			// A certificate the server's name does not match will not
			// change by retrying.
			return refusedError{fmt.Errorf("STARTTLS: %w", err)}
		}
	} else if e.starttls == StartTLSRequired {
		return refusedError{errors.New("the SMTP server does not offer STARTTLS (smtp.starttls: required)")}
	}
	if e.username != "" {
		if err := c.Auth(smtp.PlainAuth("", e.username, e.password, e.host)); err != nil {
			return e.scrub(smtpError("AUTH", err))
		}
	}
	if err := c.Mail(e.from.Address); err != nil {
		return smtpError("MAIL FROM", err)
	}
	for _, r := range e.to {
		if err := c.Rcpt(r.Address); err != nil {
			return smtpError("RCPT TO", err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return smtpError("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return smtpError("DATA", err)
	}
	if err := w.Close(); err != nil {
		return smtpError("DATA", err)
	}
	_ = c.Quit() // the message was accepted at the end of DATA
	return nil
}

// smtpError classifies an SMTP error: a 5xx reply is a refusal, the rest
// (4xx, network) is retried.
func smtpError(step string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) {
		e := fmt.Errorf("%s: %d %s", step, te.Code, printable(te.Msg))
		if te.Code >= 500 {
			return refusedError{e}
		}
		return e
	}
	return fmt.Errorf("%s: %w", step, err)
}

// scrub removes the password from an error, should a server echo it.
func (e *Email) scrub(err error) error {
	if e.password == "" || !strings.Contains(err.Error(), e.password) {
		return err
	}
	msg := strings.ReplaceAll(err.Error(), e.password, "[redacted]")
	var r refusedError
	if errors.As(err, &r) {
		return refusedError{errors.New(msg)}
	}
	return errors.New(msg)
}
