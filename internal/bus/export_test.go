package bus

import "github.com/ThreeDotsLabs/watermill/message"

// WrapDeadLetterPublisher replaces r's dead-letter publisher with
// wrap(publisher), before r runs: tests make dead-lettering fail with it.
func WrapDeadLetterPublisher(r *Router, wrap func(message.Publisher) message.Publisher) {
	r.dlq = wrap(r.dlq)
}
