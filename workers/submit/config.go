package submit

import "github.com/flinkferry/flinkferry/internal/worker"

// Config is the submit worker's configuration, read from FLINKFERRY_* variables.
type Config struct {
	worker.Common
}

// Validate reports every problem at once.
func (c Config) Validate() error { return c.Common.Validate() }
