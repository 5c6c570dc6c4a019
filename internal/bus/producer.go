package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"

	"github.com/flinkferry/flinkferry/messages"
)

// Producer sends events outside a handler: the track worker's outbox, the
// CLI, the dev demo and tests. It is sarama's idempotent SyncProducer (the
// one watermill-kafka's publisher wraps), used directly so that a batch
// goes out in one round of produce requests instead of one per event.
type Producer struct {
	sp     sarama.SyncProducer
	source string
}

// NewProducer connects an idempotent producer. source is the CloudEvents source.
func NewProducer(cfg Config, source string) (*Producer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	sc, err := cfg.Sarama("flinkferry-producer")
	if err != nil {
		return nil, err
	}
	sp, err := sarama.NewSyncProducer(cfg.Brokers, sc)
	if err != nil {
		return nil, fmt.Errorf("connecting producer to %v: %w", cfg.Brokers, err)
	}
	return &Producer{sp: sp, source: source}, nil
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
	for _, t := range topics {
		pm, err := p.record(ev, id, t)
		if err != nil {
			return err
		}
		if _, _, err := p.sp.SendMessage(pm); err != nil {
			return fmt.Errorf("producing %s to %s: %w", ev.EventType(), t, err)
		}
	}
	return nil
}

// Identified is an event and its ce_id (empty: a fresh one).
type Identified struct {
	Event messages.Event
	ID    string
}

// SendBatch publishes evs to topic in one batch and returns how many of
// them, from the first, are known to be in Kafka: on an error, the events
// from the first one that failed on are to be sent again (with their ids;
// some of them may be in Kafka already, which consumers that drop ids
// they have seen absorb). Records of one key keep their order: the
// producer is idempotent with one request in flight per broker.
func (p *Producer) SendBatch(ctx context.Context, topic string, evs []Identified) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if len(evs) == 0 {
		return 0, nil
	}
	pms := make([]*sarama.ProducerMessage, len(evs))
	for i, e := range evs {
		pm, err := p.record(e.Event, e.ID, topic)
		if err != nil {
			// Unencodable: nothing of the batch is sent, the caller sees
			// which event.
			return 0, fmt.Errorf("event %d of %d: %w", i+1, len(evs), err)
		}
		pm.Metadata = i
		pms[i] = pm
	}
	err := p.sp.SendMessages(pms)
	if err == nil {
		return len(evs), nil
	}
	var perrs sarama.ProducerErrors
	if !errors.As(err, &perrs) || len(perrs) == 0 {
		return 0, fmt.Errorf("producing %d events to %s: %w", len(evs), topic, err)
	}
	first, firstErr := len(evs), perrs[0].Err
	for _, pe := range perrs {
		if i, ok := pe.Msg.Metadata.(int); ok && i < first {
			first, firstErr = i, pe.Err
		}
	}
	if first == len(evs) {
		first = 0
	}
	return first, fmt.Errorf("producing %d events to %s: %d failed, the first (event %d): %w",
		len(evs), topic, len(perrs), first+1, firstErr)
}

// record is the Kafka record of ev for topic: the same mapping handlers'
// output goes through (newMessage, then the marshaler).
func (p *Producer) record(ev messages.Event, id, topic string) (*sarama.ProducerMessage, error) {
	m, err := newMessage(ev, messages.Envelope{
		ID: id, Source: p.source, RequestID: messages.RequestIDOf(ev), Time: time.Now().UTC(),
	})
	if err != nil {
		return nil, err
	}
	return marshaler{}.Marshal(topic, m)
}

// Close flushes and closes the producer.
func (p *Producer) Close() error { return p.sp.Close() }
