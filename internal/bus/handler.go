package bus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/internal/logging"
	"github.com/flinkferry/flinkferry/messages"
)

// Out is an event a handler emits, and the topics it goes to (the same
// record, same key and same ce_id, on each).
type Out struct {
	Event  messages.Event
	Topics []string
}

// HandlerFunc handles one decoded, validated event of type T. It returns the
// events to publish after it succeeds. It must be idempotent: a message can
// be delivered more than once. Return a permanent error (failure.Permanent)
// for input that can never succeed; any other error is retried with
// backoff. ctx carries the per-attempt deadline and is not cancelled when
// the worker shuts down, so work in flight finishes (within the 30 s
// shutdown budget).
type HandlerFunc[T messages.Event] func(ctx context.Context, ev T) ([]Out, error)

// Handle registers fn for the events of type T arriving on topic. A record
// that does not decode to a valid T goes to the dead-letter topic with the
// decode reason. The context passed to fn carries a logger with the
// request id and the job (logging.FromContext).
func Handle[T messages.Event](r *Router, name, topic string, fn HandlerFunc[T]) error {
	return HandleGivingUp(r, name, topic, fn, nil)
}

// GiveUpFunc tells the others about an event the handler gave up on: its
// transient errors outlasted the retry budget (reason retries_exhausted)
// and it is being dead-lettered. It returns the events to publish beside
// the dead letter (a deploy failed, so nobody waits for a deployment that
// will not come); it must not block.
type GiveUpFunc[T messages.Event] func(ctx context.Context, ev T, err error) []Out

// HandleGivingUp is Handle with giveUp called when fn's transient errors
// outlast the retry budget; its events get the ids fn's own output would
// (derived from the consumed message), so a consumer sees one outcome per
// input whichever path produced it.
func HandleGivingUp[T messages.Event](r *Router, name, topic string, fn HandlerFunc[T], giveUp GiveUpFunc[T]) error {
	defaultType := r.cfg.Topics().DefaultType(topic)
	if giveUp != nil {
		r.giveUps[name] = func(msg *message.Message, final error) []*message.Message {
			ev, _, err := messages.DecodeMessage(msg.Metadata, defaultType, msg.Payload)
			typed, ok := ev.(T)
			if err != nil || !ok {
				return nil
			}
			requestID := messages.RequestIDOf(ev)
			log := r.log.With("request_id", requestID, "job", ev.JobKey(), "handler", name, "message_id", msg.UUID)
			ctx, cancel := detach(msg.Context())
			defer cancel()
			msgs, err := r.encode(msg.UUID, requestID, giveUp(logging.WithLogger(ctx, log), typed, final))
			if err != nil {
				log.Error("giving up: the events to publish do not encode", "error", logging.Truncate(err.Error(), MaxErrorLogBytes))
				return nil
			}
			return msgs
		}
	}
	return r.addHandler(name, topic, func(msg *message.Message) ([]*message.Message, error) {
		ev, _, err := messages.DecodeMessage(msg.Metadata, defaultType, msg.Payload)
		if err != nil {
			return nil, failure.Permanent(messages.ReasonOf(err), err)
		}
		typed, ok := ev.(T)
		if !ok {
			return nil, failure.Permanentf(ReasonUnexpectedEventType, "handler %s does not consume %s events", name, ev.EventType())
		}
		requestID := messages.RequestIDOf(ev)
		middleware.SetCorrelationID(requestID, msg)
		log := r.log.With("request_id", requestID, "job", ev.JobKey(), "handler", name, "message_id", msg.UUID)
		ctx, cancel := detach(msg.Context())
		defer cancel()
		ctx = logging.WithLogger(ctx, log)

		outs, err := fn(ctx, typed)
		if err != nil {
			return nil, err
		}
		msgs, err := r.encode(msg.UUID, requestID, outs)
		if err != nil {
			// An event this worker built does not validate: a bug, not bad luck.
			return nil, failure.Permanent(ReasonInvalidOutput, err)
		}
		return msgs, nil
	})
}

// encode turns handler output into watermill messages with CloudEvents
// headers. The ce_id is derived from the consumed message id and the event
// type, so a redelivered input produces records with the same ids and
// consumers can drop duplicates.
func (r *Router) encode(inputID, requestID string, outs []Out) ([]*message.Message, error) {
	var msgs []*message.Message
	for _, o := range outs {
		sum := sha256.Sum256([]byte(inputID + "\x00" + o.Event.EventType()))
		m, err := newMessage(o.Event, messages.Envelope{
			ID:        hex.EncodeToString(sum[:16]),
			Source:    eventSource(r.opts.Worker),
			RequestID: requestID,
			Time:      time.Now().UTC(),
		})
		if err != nil {
			return nil, err
		}
		for _, topic := range o.Topics {
			c := m.Copy()
			c.Metadata.Set(TopicMetadata, topic)
			msgs = append(msgs, c)
		}
	}
	return msgs, nil
}

// newMessage encodes ev as a watermill message carrying the Kafka key and
// the CloudEvents headers as metadata.
func newMessage(ev messages.Event, env messages.Envelope) (*message.Message, error) {
	key, headers, value, err := messages.Encode(ev, env)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", ev.EventType(), err)
	}
	m := message.NewMessage(headers[HeaderID], value)
	for k, v := range headers {
		m.Metadata.Set(k, v)
	}
	m.Metadata.Set(KeyMetadata, key)
	return m, nil
}

// detach returns a context that keeps ctx's values and deadline (the
// per-attempt timeout) but is not cancelled when the consumer stops or
// loses the partition: work in flight finishes, and as every handler is
// idempotent a redelivery of the same message then finds it done.
func detach(ctx context.Context) (context.Context, context.CancelFunc) {
	d := context.WithoutCancel(ctx)
	if deadline, ok := ctx.Deadline(); ok {
		return context.WithDeadline(d, deadline)
	}
	return context.WithCancel(d)
}
