package bus

import (
	"errors"
	"time"
)

// HandlerConfig bounds each attempt of a handler and its retries. It is read
// from FLINKFERRY_HANDLER_* variables.
type HandlerConfig struct {
	Timeout         time.Duration `envconfig:"TIMEOUT" default:"2m" desc:"time limit of one handler attempt"`
	MaxRetries      int           `envconfig:"MAX_RETRIES" default:"10" desc:"retries of a transient error before dead-lettering"`
	InitialInterval time.Duration `envconfig:"RETRY_INITIAL_INTERVAL" default:"250ms" desc:"first backoff between retries"`
	MaxInterval     time.Duration `envconfig:"RETRY_MAX_INTERVAL" default:"30s" desc:"largest backoff between retries"`
	Multiplier      float64       `envconfig:"RETRY_MULTIPLIER" default:"2" desc:"backoff growth factor"`
	MaxElapsed      time.Duration `envconfig:"RETRY_MAX_ELAPSED" default:"5m" desc:"give up retrying after this long"`
}

// Validate reports every problem of c at once.
func (c HandlerConfig) Validate() error {
	var errs []error
	if c.Timeout <= 0 {
		errs = append(errs, errors.New("handler: TIMEOUT must be > 0"))
	}
	if c.MaxRetries < 0 {
		errs = append(errs, errors.New("handler: MAX_RETRIES must be >= 0"))
	}
	if c.InitialInterval <= 0 || c.MaxInterval < c.InitialInterval {
		errs = append(errs, errors.New("handler: need 0 < RETRY_INITIAL_INTERVAL <= RETRY_MAX_INTERVAL"))
	}
	if c.Multiplier < 1 {
		errs = append(errs, errors.New("handler: RETRY_MULTIPLIER must be >= 1"))
	}
	if c.MaxElapsed <= 0 {
		errs = append(errs, errors.New("handler: RETRY_MAX_ELAPSED must be > 0"))
	}
	return errors.Join(errs...)
}
