package bus

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill/message"
)

// Metadata keys that steer the marshaler. They start with "_ff_" and never
// become Kafka headers.
const (
	// KeyMetadata holds the Kafka record key.
	KeyMetadata = "_ff_key"
	// TopicMetadata names the topic a produced message goes to (see routingPublisher).
	TopicMetadata  = "_ff_topic"
	internalPrefix = "_ff_"
)

// marshaler maps watermill messages to Kafka records one to one: metadata
// are headers, the payload is the value, KeyMetadata is the key. Unlike
// watermill's DefaultMarshaler it adds no header of its own (the CloudEvents
// ce_id carries the identity), so records stay plain for non-Go consumers.
type marshaler struct{}

// Marshal implements kafka.Marshaler.
func (marshaler) Marshal(topic string, msg *message.Message) (*sarama.ProducerMessage, error) {
	headers := make([]sarama.RecordHeader, 0, len(msg.Metadata))
	for k, v := range msg.Metadata {
		if strings.HasPrefix(k, internalPrefix) {
			continue
		}
		headers = append(headers, sarama.RecordHeader{Key: []byte(k), Value: []byte(v)})
	}
	pm := &sarama.ProducerMessage{Topic: topic, Value: sarama.ByteEncoder(msg.Payload), Headers: headers}
	if key := msg.Metadata.Get(KeyMetadata); key != "" {
		pm.Key = sarama.StringEncoder(key)
	}
	return pm, nil
}

// Unmarshal implements kafka.Unmarshaler. It never fails: watermill-kafka
// stops consuming the partition when an unmarshaler errors, so every record,
// however broken, becomes a message and the handler decides its fate.
func (marshaler) Unmarshal(km *sarama.ConsumerMessage) (*message.Message, error) {
	md := make(message.Metadata, len(km.Headers)+1)
	for _, h := range km.Headers {
		if h == nil {
			continue
		}
		md.Set(string(h.Key), string(h.Value))
	}
	id := boundedID(md.Get(HeaderID))
	if id == "" {
		// A producer that sent only key + value: the record's position is its identity.
		id = fmt.Sprintf("%s-%d-%d", km.Topic, km.Partition, km.Offset)
	}
	if len(km.Key) > 0 {
		md.Set(KeyMetadata, string(km.Key))
	}
	msg := message.NewMessage(id, km.Value)
	msg.Metadata = md
	return msg, nil
}

// maxIDBytes bounds a message id: watermill and the bus log it with every
// line about the message, and output ids derive from it.
const maxIDBytes = 128

// boundedID returns id when it is at most maxIDBytes, and otherwise its
// first 63 bytes and the hex SHA-256 of the whole: the same id for every
// delivery of the record, so derived output ids stay stable.
func boundedID(id string) string {
	if len(id) <= maxIDBytes {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return strings.ToValidUTF8(id[:63], "") + "~" + hex.EncodeToString(sum[:])
}
