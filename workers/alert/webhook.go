package alert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode"

	"github.com/flinkferry/flinkferry/internal/logging"
)

// Headers of a signed webhook request. The signature is
// "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." + body)), the
// timestamp Unix seconds: a receiver recomputes it and refuses old
// timestamps (replays).
const (
	TimestampHeader = "X-Flinkferry-Timestamp"
	SignatureHeader = "X-Flinkferry-Signature"
)

// maxErrorBodyBytes bounds the part of a receiver's answer quoted in an error.
const maxErrorBodyBytes = 256

// Sign returns the signature header value of body sent at timestamp ts.
func Sign(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Webhook posts rendered notices to a URL.
type Webhook struct {
	name        string
	url         string
	tmpl        *template.Template
	contentType string
	headers     map[string]string
	secret      []byte
	client      *http.Client
	retry       Retry
	maxBody     int
	metrics     *metrics
	now         func() time.Time
	sleep       func(ctx context.Context, d time.Duration) error
}

// Name returns the channel's name.
func (w *Webhook) Name() string { return w.name }

// Deliver renders n and posts it, retrying 5xx, 408, 429 and network
// errors with exponential backoff within the retry budget. The URL never
// appears in errors (it may carry a token).
func (w *Webhook) Deliver(ctx context.Context, n *Notice) error {
	body, err := render(w.tmpl, n, w.maxBody)
	if err != nil {
		w.metrics.failed.WithLabelValues(w.name).Inc()
		return &DeliveryError{Channel: w.name, Err: err}
	}
	return deliver(ctx, w.name, n.Status, w.retry, w.metrics, w.now, w.sleep, func(ctx context.Context, timeout time.Duration) error {
		return w.post(ctx, body, timeout)
	})
}

// post sends body once.
func (w *Webhook) post(ctx context.Context, body []byte, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return refusedError{errors.New("invalid webhook URL")}
	}
	req.Header.Set("Content-Type", w.contentType)
	req.Header.Set("User-Agent", "flinkferry-alert")
	for k, v := range w.headers {
		req.Header.Set(k, v)
	}
	if len(w.secret) > 0 {
		ts := strconv.FormatInt(w.now().Unix(), 10)
		req.Header.Set(TimestampHeader, ts)
		req.Header.Set(SignatureHeader, Sign(w.secret, ts, body))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return stripURL(err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBodyBytes+1))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // reuse the connection
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return classifyStatus(resp.StatusCode, snippet)
}

// stripURL drops the URL from a client error (url.Error repeats it, with
// any token in its path or query).
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Errorf("%s: timeout", ue.Op)
		}
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// printable makes a receiver's answer safe to quote: one line, bounded.
func printable(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return logging.Truncate(strings.TrimSpace(s), maxErrorBodyBytes)
}

// checkWebhookURL accepts absolute http and https URLs. The error never
// quotes the URL.
func checkWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an absolute http:// or https:// URL")
	}
	return nil
}

// validHeaderName reports whether k is an HTTP header token.
func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return false
		}
	}
	return true
}
