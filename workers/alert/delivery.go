package alert

import (
	"context"
	"errors"
	"fmt"
	"time"
)

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

// attemptFunc makes one delivery attempt bounded by timeout; a
// refusedError is not retried.
type attemptFunc func(ctx context.Context, timeout time.Duration) error

// deliver runs attempt until it succeeds, is refused, or the retry budget
// runs out, waiting with exponential backoff between attempts, and counts
// the outcome in m for channel name.
func deliver(ctx context.Context, name, status string, r Retry, m *metrics, now func() time.Time,
	sleep func(context.Context, time.Duration) error, attempt attemptFunc) error {
	start := now()
	deadline := start.Add(r.Budget)
	wait := r.InitialInterval
	attempts := 0
	var err error
	for {
		attempts++
		left := deadline.Sub(now())
		timeout := min(r.RequestTimeout, left)
		err = attempt(ctx, timeout)
		if err == nil {
			m.sent.WithLabelValues(name, status).Inc()
			m.latency.WithLabelValues(name).Observe(now().Sub(start).Seconds())
			return nil
		}
		var refused refusedError
		if errors.As(err, &refused) || ctx.Err() != nil {
			break
		}
		left = deadline.Sub(now())
		if left <= 0 {
			break
		}
		if err := sleep(ctx, min(wait, left)); err != nil {
			break
		}
		if now().After(deadline) {
			break
		}
		m.retried.WithLabelValues(name).Inc()
		wait = min(time.Duration(float64(wait)*r.Multiplier), r.MaxInterval)
	}
	m.failed.WithLabelValues(name).Inc()
	return &DeliveryError{Channel: name, Attempts: attempts, Elapsed: now().Sub(start), Err: err}
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
