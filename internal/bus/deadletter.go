package bus

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/internal/logging"
)

// Bounds of what the bus writes about a message, whatever the message or
// the error: a dead-letter record must fit its topic, and a log line must
// not grow with the input (issue 13: a 5.8 MB error text made the
// dead-letter record unpublishable and every retry logged it twice).
const (
	// MaxErrorHeaderBytes bounds the error text in the reason_poisoned header.
	MaxErrorHeaderBytes = 4 << 10
	// MaxErrorLogBytes bounds an error text in the bus's log lines (the
	// lines themselves are bounded by logging.MaxLineBytes).
	MaxErrorLogBytes = 2 << 10
	// DeadLetterMaxBytes bounds a dead-letter record: key, value, headers
	// and the record overhead. It stays below Kafka's default
	// max.message.bytes (1,048,588) and the producer's MaxMessageBytes
	// (2 × messages.MaxPayloadBytes), so a record of any valid size plus
	// the bus's headers fits; a larger original has its value cut.
	DeadLetterMaxBytes = 1_000_000

	// maxHeaderBytes bounds the other header values the bus writes, and
	// the headers kept by a minimal record.
	maxHeaderBytes = 256
	// maxMinimalErrorBytes bounds the error text of a minimal record.
	maxMinimalErrorBytes = 512
	// maxLogStackBytes bounds a panic's stack in the log.
	maxLogStackBytes = 3 << 10
	// recordOverhead and headerOverhead bound what Kafka adds to a record
	// (batch header, varints) and to each header when it measures a
	// record against max.message.bytes.
	recordOverhead = 128
	headerOverhead = 10

	// deadLetterAttempts bounds the publishes of one dead-letter record;
	// deadLetterBackoff is the first wait between them (then doubled):
	// 0.5 + 1 + 2 s at most, cut short by shutdown.
	deadLetterAttempts = 4
	deadLetterBackoff  = 500 * time.Millisecond
)

// minimalHeaders are the original headers a minimal dead-letter record
// keeps (cut at maxHeaderBytes): enough to find the request again.
var minimalHeaders = []string{
	HeaderID, "ce_type", "ce_source", "ce_specversion", "ce_time", "ce_requestid", "content-type", "correlation_id",
}

// deadLetterInfo is what the bus adds to a dead-letter record.
type deadLetterInfo struct {
	errText, reason             string
	topic, handler, subscriber  string
	partition, offset, sourceID string
}

// deadLetter is the outermost middleware but one (inside the correlation
// id): it sees the final error of a message after the retries and
// publishes the message to the dead-letter topic with the machine reason,
// the error text and the original position, then acknowledges it so the
// partition moves on. When the dead-letter publish keeps failing
// (deadLetterAttempts) the message is logged, counted in
// flinkferry_dead_letter_failures_total and acknowledged all the same: a
// lost record is better than a partition wedged for good. Errors caused by
// shutdown are returned (with a bounded text: watermill logs it) so the
// message is redelivered instead.
func (r *Router) deadLetter(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		orig := msg.Context()
		out, err := h(msg)
		if err == nil {
			return out, nil
		}
		if r.isStopping() || orig.Err() != nil {
			return nil, shutdownError(err)
		}
		info := deadLetterInfo{
			topic:      message.SubscribeTopicFromCtx(orig),
			handler:    message.HandlerNameFromCtx(orig),
			subscriber: message.SubscriberNameFromCtx(orig),
			sourceID:   msg.UUID,
		}
		if p, ok := kafka.MessagePartitionFromCtx(orig); ok {
			info.partition = strconv.Itoa(int(p))
		}
		if o, ok := kafka.MessagePartitionOffsetFromCtx(orig); ok {
			info.offset = strconv.FormatInt(o, 10)
		}
		log := r.log.With(
			"handler", info.handler, "message_id", msg.UUID,
			"request_id", logging.Truncate(middleware.MessageCorrelationID(msg), maxHeaderBytes),
			"topic", info.topic, "key", logging.Truncate(msg.Metadata.Get(KeyMetadata), maxHeaderBytes),
			"partition", info.partition, "offset", info.offset)

		var panicErr middleware.RecoveredPanicError
		if errors.As(err, &panicErr) {
			v := fmt.Sprint(panicErr.V)
			log.Error("handler panicked",
				"panic", logging.Truncate(v, MaxErrorLogBytes), "stack", logging.Truncate(panicErr.Stacktrace, maxLogStackBytes))
			err = failure.Permanent(ReasonPanic, fmt.Errorf("handler panic: %s", logging.Truncate(v, MaxErrorHeaderBytes)))
		}
		info.errText = err.Error()
		info.reason = logging.Truncate(ReasonOf(err), maxHeaderBytes)
		logErr := logging.Truncate(info.errText, MaxErrorLogBytes)

		// Given up on: the handler's events telling the others, published
		// by the router as its output once the dead letter is written.
		var told []*message.Message
		if giveUp := r.giveUps[info.handler]; giveUp != nil && info.reason == ReasonRetriesExhausted {
			told = giveUp(msg, err)
		}
		pubErr := r.publishDeadLetter(msg, info)
		switch {
		case pubErr == nil:
			r.metrics.deadLettered.WithLabelValues(info.handler, info.reason).Inc()
			log.Warn("message dead-lettered", "reason", info.reason, "error", logErr)
			return told, nil
		case errors.Is(pubErr, errShutdown):
			return nil, shutdownError(err)
		default:
			r.metrics.deadLetterFailures.WithLabelValues(info.handler, info.reason).Inc()
			log.Error("dead-lettering failed, message skipped",
				"reason", info.reason, "error", logErr,
				"dead_letter_error", logging.Truncate(pubErr.Error(), MaxErrorLogBytes),
				"payload_bytes", len(msg.Payload), "payload_sha256", payloadSum(msg.Payload))
			return told, nil
		}
	}
}

// publishDeadLetter publishes msg to the dead-letter topic, at most
// deadLetterAttempts times. A record the producer or the broker finds too
// large is sent again at once in its minimal form; other failures wait
// (deadLetterBackoff, doubled each time) unless shutdown begins, which
// returns an error wrapping errShutdown.
func (r *Router) publishDeadLetter(msg *message.Message, info deadLetterInfo) error {
	topic := r.cfg.Topics().DeadLetter
	minimal := false
	wait := deadLetterBackoff
	for attempt := 1; ; attempt++ {
		err := r.dlq.Publish(topic, deadLetterRecord(msg, info, DeadLetterMaxBytes, minimal))
		if err == nil {
			return nil
		}
		if attempt == deadLetterAttempts {
			return fmt.Errorf("publishing to %s (%d attempts): %w", topic, attempt, err)
		}
		if tooLarge(err) && !minimal {
			minimal = true
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-r.stopping:
			t.Stop()
			return fmt.Errorf("%w: publishing to %s: %w", errShutdown, topic, err)
		case <-t.C:
		}
		wait *= 2
	}
}

// tooLarge reports whether the producer (a ConfigurationError naming
// MaxMessageBytes) or the broker (MESSAGE_TOO_LARGE) refused a record for
// its size.
func tooLarge(err error) bool {
	var ce sarama.ConfigurationError
	return errors.Is(err, sarama.ErrMessageSizeTooLarge) || errors.As(err, &ce)
}

// deadLetterRecord returns the dead-letter record of src: its key, value
// and headers plus the bus's headers, at most limit bytes as Kafka counts
// them. When the whole does not fit, the value is cut to fit and
// TruncatedHeader, PayloadBytesHeader and PayloadSHA256Header are set.
// When not even the headers and key fit, or minimal is set (the topic
// refused the full record), the record is minimal: no value, the bus's
// headers with the error text cut at maxMinimalErrorBytes, the
// minimalHeaders of the original, and the key cut at maxHeaderBytes.
func deadLetterRecord(src *message.Message, info deadLetterInfo, limit int, minimal bool) *message.Message {
	if !minimal {
		md := make(message.Metadata, len(src.Metadata)+8)
		for k, v := range src.Metadata {
			md[k] = v
		}
		info.set(md, MaxErrorHeaderBytes)
		if recordSize(md, len(src.Payload)) <= limit {
			return newRecord(src.UUID, md, src.Payload)
		}
		md[TruncatedHeader] = "payload"
		md[PayloadBytesHeader] = strconv.Itoa(len(src.Payload))
		md[PayloadSHA256Header] = payloadSum(src.Payload)
		if room := limit - recordSize(md, 0); room >= 0 {
			return newRecord(src.UUID, md, src.Payload[:min(room, len(src.Payload))])
		}
	}
	md := make(message.Metadata, len(minimalHeaders)+12)
	for _, k := range minimalHeaders {
		if v, ok := src.Metadata[k]; ok {
			md[k] = logging.Truncate(v, maxHeaderBytes)
		}
	}
	if key := src.Metadata.Get(KeyMetadata); key != "" {
		md[KeyMetadata] = logging.Truncate(key, maxHeaderBytes)
	}
	info.set(md, maxMinimalErrorBytes)
	md[TruncatedHeader] = "payload,headers"
	md[PayloadBytesHeader] = strconv.Itoa(len(src.Payload))
	md[PayloadSHA256Header] = payloadSum(src.Payload)
	return newRecord(src.UUID, md, nil)
}

// set writes the bus's headers into md, the error text cut at maxErr bytes.
func (i deadLetterInfo) set(md message.Metadata, maxErr int) {
	md[errorHeader] = logging.Truncate(i.errText, maxErr)
	md[ReasonHeader] = logging.Truncate(i.reason, maxHeaderBytes)
	md[topicHeader] = logging.Truncate(i.topic, maxHeaderBytes)
	md[handlerHeader] = logging.Truncate(i.handler, maxHeaderBytes)
	md[subscriberHeader] = logging.Truncate(i.subscriber, maxHeaderBytes)
	if i.partition != "" {
		md[SourcePartitionHeader] = i.partition
	}
	if i.offset != "" {
		md[SourceOffsetHeader] = i.offset
	}
}

func newRecord(id string, md message.Metadata, payload []byte) *message.Message {
	m := message.NewMessage(id, payload)
	m.Metadata = md
	return m
}

// recordSize is an upper bound of the size Kafka counts for a record with
// metadata md (headers and key, see marshaler) and a value of n bytes.
func recordSize(md message.Metadata, n int) int {
	size := recordOverhead + n
	for k, v := range md {
		switch {
		case k == KeyMetadata:
			size += len(v)
		case strings.HasPrefix(k, internalPrefix):
		default:
			size += len(k) + len(v) + headerOverhead
		}
	}
	return size
}

func payloadSum(p []byte) string {
	sum := sha256.Sum256(p)
	return hex.EncodeToString(sum[:])
}

// shutdownErr is a handler error caused by the consumer stopping. Its text
// is bounded: watermill logs the error a handler returns.
type shutdownErr struct {
	text  string
	cause error
}

func shutdownError(err error) error {
	return &shutdownErr{text: logging.Truncate(err.Error(), MaxErrorLogBytes), cause: err}
}

func (e *shutdownErr) Error() string   { return errShutdown.Error() + ": " + e.text }
func (e *shutdownErr) Unwrap() []error { return []error{errShutdown, e.cause} }
