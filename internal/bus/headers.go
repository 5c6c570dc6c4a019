package bus

// Kafka headers written by the bus, besides the CloudEvents ones of package
// messages. A dead-lettered record keeps its key, value and original
// headers; watermill adds reason_poisoned (the error text), topic_poisoned
// and handler_poisoned, and the bus adds these:
const (
	// HeaderID is the CloudEvents id header.
	HeaderID = "ce_id"

	// ReasonHeader carries the machine-readable reason a record was dead-lettered.
	ReasonHeader = "dead_letter_reason"
	// SourcePartitionHeader and SourceOffsetHeader locate the original record.
	SourcePartitionHeader = "dead_letter_partition"
	SourceOffsetHeader    = "dead_letter_offset"
)
