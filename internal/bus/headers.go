package bus

// Kafka headers written by the bus, besides the CloudEvents ones of package
// messages. A dead-lettered record keeps its key, value and original
// headers (see deadLetterRecord for when it cannot); the bus adds
// reason_poisoned (the error text, cut at MaxErrorHeaderBytes),
// topic_poisoned, handler_poisoned and subscriber_poisoned (the names
// watermill's poison queue used), and these:
const (
	// HeaderID is the CloudEvents id header.
	HeaderID = "ce_id"

	// ReasonHeader carries the machine-readable reason a record was dead-lettered.
	ReasonHeader = "dead_letter_reason"
	// SourcePartitionHeader and SourceOffsetHeader locate the original record.
	SourcePartitionHeader = "dead_letter_partition"
	SourceOffsetHeader    = "dead_letter_offset"

	// TruncatedHeader is set on a dead-letter record that does not carry
	// the original whole: "payload" (the value is cut to fit the topic),
	// or "payload,headers" (the value is dropped, and so are the original
	// headers other than the CloudEvents ones; the key is cut).
	TruncatedHeader = "dead_letter_truncated"
	// PayloadBytesHeader and PayloadSHA256Header give the size and the
	// hex SHA-256 of the original value of a truncated record.
	PayloadBytesHeader  = "dead_letter_payload_bytes"
	PayloadSHA256Header = "dead_letter_payload_sha256"
)

// Header names of watermill's poison queue, kept for dead-letter consumers.
const (
	errorHeader      = "reason_poisoned"
	topicHeader      = "topic_poisoned"
	handlerHeader    = "handler_poisoned"
	subscriberHeader = "subscriber_poisoned"
)
