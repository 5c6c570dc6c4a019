package alert

import (
	"errors"
	"fmt"
	"time"

	"github.com/flinkferry/flinkferry/internal/redisclient"
	"github.com/flinkferry/flinkferry/internal/worker"
)

// Config is the alert worker's configuration, read from FLINKFERRY_* variables.
type Config struct {
	worker.Common
	Redis redisclient.Config `envconfig:"REDIS"`
	Alert AlertConfig        `envconfig:"ALERT"`
}

// AlertConfig holds FLINKFERRY_ALERT_* variables.
type AlertConfig struct {
	RulesFile   string        `envconfig:"RULES_FILE" desc:"YAML file with the channels and the rules (required)"`
	RedisPrefix string        `envconfig:"REDIS_PREFIX" default:"ff:alert:" desc:"prefix of the alert worker's Redis keys"`
	MinInterval time.Duration `envconfig:"MIN_INTERVAL" default:"30s" desc:"shortest time between two firing notices of one job; alerts firing sooner are recorded as suppressed, not sent (0 disables)"`

	RequestTimeout       time.Duration `envconfig:"REQUEST_TIMEOUT" default:"10s" desc:"time limit of one webhook request"`
	RetryInitialInterval time.Duration `envconfig:"RETRY_INITIAL_INTERVAL" default:"500ms" desc:"first wait before a webhook request is retried"`
	RetryMaxInterval     time.Duration `envconfig:"RETRY_MAX_INTERVAL" default:"5s" desc:"longest wait between webhook retries"`
	RetryMultiplier      float64       `envconfig:"RETRY_MULTIPLIER" default:"2" desc:"growth of the wait between webhook retries"`
	RetryBudget          time.Duration `envconfig:"RETRY_BUDGET" default:"30s" desc:"longest one delivery may take, retries included, before the status event is dead-lettered (alert_undeliverable)"`

	ResendInterval   time.Duration `envconfig:"RESEND_INTERVAL" default:"1m" desc:"how often firing alerts are posted again to Alertmanager channels (their endsAt is 4 intervals ahead, so keep it well under Alertmanager's resolve_timeout)"`
	EvaluateInterval time.Duration `envconfig:"EVALUATE_INTERVAL" default:"15s" desc:"how often the time-window conditions (restarts, checkpoint age, failed checkpoints, not running after submit) are evaluated"`
	TrackRedisPrefix string        `envconfig:"TRACK_REDIS_PREFIX" default:"ff:" desc:"prefix of the track worker's Redis keys (the job records the time-window conditions read)"`

	MaxBodyBytes      int           `envconfig:"MAX_BODY_BYTES" default:"65536" desc:"largest rendered webhook body"`
	HistoryMax        int           `envconfig:"HISTORY_MAX" default:"1000" desc:"notices kept in Redis for flinkferry alerts"`
	ResolvedRetention time.Duration `envconfig:"RESOLVED_RETENTION" default:"168h" desc:"how long a resolved alert's state stays in Redis"`
}

// Validate reports every problem at once; the rules file is loaded and
// checked too.
func (c Config) Validate() error {
	errs := []error{c.Common.Validate(), c.Redis.Validate()}
	a := c.Alert
	if a.RulesFile == "" {
		errs = append(errs, errors.New("alert: RULES_FILE is required"))
	} else if _, err := LoadRules(a.RulesFile); err != nil {
		errs = append(errs, fmt.Errorf("alert: RULES_FILE: %w", err))
	}
	if a.RedisPrefix == "" {
		errs = append(errs, errors.New("alert: REDIS_PREFIX must not be empty"))
	}
	if a.TrackRedisPrefix == "" {
		errs = append(errs, errors.New("alert: TRACK_REDIS_PREFIX must not be empty"))
	}
	for name, d := range map[string]time.Duration{
		"REQUEST_TIMEOUT": a.RequestTimeout, "RETRY_INITIAL_INTERVAL": a.RetryInitialInterval,
		"RETRY_BUDGET": a.RetryBudget, "RESOLVED_RETENTION": a.ResolvedRetention,
		"RESEND_INTERVAL": a.ResendInterval, "EVALUATE_INTERVAL": a.EvaluateInterval,
	} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("alert: %s must be > 0", name))
		}
	}
	if a.MinInterval < 0 {
		errs = append(errs, errors.New("alert: MIN_INTERVAL must be >= 0"))
	}
	if a.RetryMaxInterval < a.RetryInitialInterval {
		errs = append(errs, errors.New("alert: RETRY_MAX_INTERVAL must be >= RETRY_INITIAL_INTERVAL"))
	}
	if a.RetryMultiplier < 1 {
		errs = append(errs, errors.New("alert: RETRY_MULTIPLIER must be >= 1"))
	}
	if h := c.Handler.Timeout; h > 0 && a.RetryBudget >= h {
		errs = append(errs, fmt.Errorf("alert: RETRY_BUDGET (%s) must be shorter than FLINKFERRY_HANDLER_TIMEOUT (%s)", a.RetryBudget, h))
	}
	if a.MaxBodyBytes < 1024 || a.MaxBodyBytes > 1<<20 {
		errs = append(errs, errors.New("alert: MAX_BODY_BYTES must be between 1024 and 1048576"))
	}
	if a.HistoryMax < 1 || a.HistoryMax > 100000 {
		errs = append(errs, errors.New("alert: HISTORY_MAX must be between 1 and 100000"))
	}
	return errors.Join(errs...)
}

// retry returns the delivery retry policy.
func (a AlertConfig) retry() Retry {
	return Retry{
		InitialInterval: a.RetryInitialInterval, MaxInterval: a.RetryMaxInterval, Multiplier: a.RetryMultiplier,
		Budget: a.RetryBudget, RequestTimeout: a.RequestTimeout,
	}
}

// storeOptions are the alert store's options.
func (a AlertConfig) storeOptions() StoreOptions {
	return StoreOptions{Prefix: a.RedisPrefix, HistoryMax: a.HistoryMax, Retention: a.ResolvedRetention, MinInterval: a.MinInterval}
}
