package bus

import (
	"context"
	"errors"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/cenkalti/backoff/v5"
)

// retry retries a handler on transient errors with exponential backoff
// (cenkalti/backoff): InitialInterval, then ×Multiplier per retry up to
// MaxInterval, ±20% jitter, at most MaxRetries retries within MaxElapsed.
// Permanent errors are returned at once. Each attempt starts from the
// message's original context. Once stopping is closed no new attempt
// starts: the wait between attempts ends and the last error is returned.
//
// watermill's middleware.Retry is not used: it advances its backoff once
// more for ShouldRetry and again for OnRetryHook, so delays grow by
// Multiplier² or Multiplier³ per retry instead of Multiplier.
func retry(c HandlerConfig, stopping <-chan struct{}, onRetry func()) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			orig := msg.Context()
			waitCtx, cancel := context.WithCancel(orig)
			defer cancel()
			go func() {
				select {
				case <-stopping:
					cancel()
				case <-waitCtx.Done():
				}
			}()
			b := backoff.NewExponentialBackOff()
			b.InitialInterval = c.InitialInterval
			b.Multiplier = c.Multiplier
			b.MaxInterval = c.MaxInterval
			b.RandomizationFactor = 0.2
			var last error
			out, err := backoff.Retry(waitCtx, func() ([]*message.Message, error) {
				msg.SetContext(orig)
				out, err := h(msg)
				last = err
				if err != nil && isPermanent(err) {
					return out, backoff.Permanent(err)
				}
				return out, err
			},
				backoff.WithBackOff(b),
				backoff.WithMaxTries(uint(c.MaxRetries)+1),
				backoff.WithMaxElapsedTime(c.MaxElapsed),
				backoff.WithNotify(func(error, time.Duration) { onRetry() }),
			)
			var pe *backoff.PermanentError
			if errors.As(err, &pe) {
				err = pe.Unwrap()
			}
			if err != nil && waitCtx.Err() != nil && orig.Err() == nil && last != nil {
				err = last // stopped between attempts: report the handler's error
			}
			return out, err
		}
	}
}
