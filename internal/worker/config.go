package worker

import (
	"errors"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/logging"
	"github.com/flinkferry/flinkferry/internal/ops"
)

// Prefix is the prefix of every flinkferry environment variable.
const Prefix = "FLINKFERRY"

// Common is the configuration every worker shares. Embed it in a worker's
// Config so its variables keep their names (FLINKFERRY_KAFKA_BROKERS, ...).
type Common struct {
	Kafka   bus.Config        `envconfig:"KAFKA"`
	Handler bus.HandlerConfig `envconfig:"HANDLER"`
	Log     logging.Config    `envconfig:"LOG"`
	Ops     ops.Config        `envconfig:"OPS"`
}

// Validate reports every problem at once.
func (c Common) Validate() error {
	return errors.Join(c.Kafka.Validate(), c.Handler.Validate(), c.Log.Validate())
}
