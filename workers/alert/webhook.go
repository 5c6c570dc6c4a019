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

// Retry bounds the attempts of one delivery.
type Retry struct {
	// InitialInterval is the first wait; each next one is Multiplier
	// times longer, at most MaxInterval.
	InitialInterval, MaxInterval time.Duration
	Multiplier                   float64
	// Budget bounds the whole delivery, attempts and waits included, so a
	// slow receiver never holds the partition for long.
	Budget time.Duration
	// RequestTimeout bounds one attempt (cut to what is left of Budget).
	RequestTimeout time.Duration
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

// DeliveryError is a notice that could not be delivered: the receiver
// refused it (4xx), or the retry budget ran out.
type DeliveryError struct {
	Channel  string
	Attempts int
	Elapsed  time.Duration
	Err      error
}

func (e *DeliveryError) Error() string {
	return fmt.Sprintf("channel %s: not delivered after %d attempt(s) in %s: %v",
		e.Channel, e.Attempts, e.Elapsed.Round(time.Millisecond), e.Err)
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// errRefused marks an answer that retrying will not change.
type refusedError struct{ err error }

func (e refusedError) Error() string { return e.err.Error() }
func (e refusedError) Unwrap() error { return e.err }

// Deliver renders n and posts it, retrying 5xx, 408, 429 and network
// errors with exponential backoff within the retry budget. The URL never
// appears in errors (it may carry a token).
func (w *Webhook) Deliver(ctx context.Context, n *Notice) error {
	start := w.now()
	body, err := render(w.tmpl, n, w.maxBody)
	if err != nil {
		w.metrics.failed.WithLabelValues(w.name).Inc()
		return &DeliveryError{Channel: w.name, Err: err}
	}
	deadline := start.Add(w.retry.Budget)
	wait := w.retry.InitialInterval
	attempts := 0
	for {
		attempts++
		left := deadline.Sub(w.now())
		timeout := min(w.retry.RequestTimeout, left)
		err = w.post(ctx, body, timeout)
		if err == nil {
			w.metrics.sent.WithLabelValues(w.name, n.Status).Inc()
			w.metrics.latency.WithLabelValues(w.name).Observe(w.now().Sub(start).Seconds())
			return nil
		}
		var refused refusedError
		if errors.As(err, &refused) || ctx.Err() != nil {
			break
		}
		left = deadline.Sub(w.now())
		if left <= 0 {
			break
		}
		if err := w.sleep(ctx, min(wait, left)); err != nil {
			break
		}
		if w.now().After(deadline) {
			break
		}
		w.metrics.retried.WithLabelValues(w.name).Inc()
		wait = min(time.Duration(float64(wait)*w.retry.Multiplier), w.retry.MaxInterval)
	}
	w.metrics.failed.WithLabelValues(w.name).Inc()
	return &DeliveryError{Channel: w.name, Attempts: attempts, Elapsed: w.now().Sub(start), Err: err}
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
	e := fmt.Errorf("HTTP %d: %s", resp.StatusCode, printable(string(snippet)))
	switch {
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		return e
	}
	return refusedError{e}
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

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
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
