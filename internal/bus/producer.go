package bus

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"

	"github.com/flinkferry/flinkferry/internal/logging"
	"github.com/flinkferry/flinkferry/messages"
)

// Producer sends events outside a handler: the CLI, the dev demo and tests.
type Producer struct {
	pub    *kafka.Publisher
	source string
}

// NewProducer connects an idempotent producer. source is the CloudEvents source.
func NewProducer(cfg Config, source string, log *slog.Logger) (*Producer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	log = logging.BoundLogger(log)
	pub, err := newPublisher(cfg, "flinkferry-producer", newWatermillLogger(log))
	if err != nil {
		return nil, err
	}
	return &Producer{pub: pub, source: source}, nil
}

// Send publishes ev to every topic, keyed by its job, with a fresh ce_id.
func (p *Producer) Send(ctx context.Context, ev messages.Event, topics ...string) error {
	return p.SendWithID(ctx, ev, "", topics...)
}

// SendWithID is Send with a chosen ce_id: an event published again after
// a crash (an outbox) keeps its id, so consumers that drop ids they have
// seen get it once. An empty id gets a fresh one.
func (p *Producer) SendWithID(ctx context.Context, ev messages.Event, id string, topics ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m, err := newMessage(ev, messages.Envelope{
		ID: id, Source: p.source, RequestID: messages.RequestIDOf(ev), Time: time.Now().UTC(),
	})
	if err != nil {
		return err
	}
	for _, t := range topics {
		if err := p.pub.Publish(t, m); err != nil {
			return fmt.Errorf("producing %s to %s: %w", ev.EventType(), t, err)
		}
	}
	return nil
}

// Close flushes and closes the producer.
func (p *Producer) Close() error { return p.pub.Close() }
