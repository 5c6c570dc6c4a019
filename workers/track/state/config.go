package state

import (
	"errors"
	"time"
)

// Defaults of Config, the same as the track worker's settings.
const (
	DefaultSilentKeep        = 60 * time.Second
	DefaultStartTimeout      = 120 * time.Second
	DefaultCrashLoopRestarts = 3
)

// Config holds the limits of the state machine. Zero (and negative) fields
// take the defaults (SetDefaults); Decide applies them itself, so a zero
// Config is usable. Validate refuses negative fields, which are mistakes.
type Config struct {
	// SilentKeep is how long a job stays SILENT before it is LOST
	// (StreamPark's silent-state-keep-sec). Default 60s.
	SilentKeep time.Duration
	// StartTimeout bounds waiting: a job still STARTING with no Deployment
	// after it becomes DEPLOY_FAILED (deployment_missing), and a ready
	// JobManager whose REST API has not answered (or not listed the job)
	// for this long is SILENT instead of K8S_INITIALIZING. Default 120s,
	// the track worker's job-status timeout.
	StartTimeout time.Duration
	// CrashLoopRestarts is the restart count from which a container in
	// CrashLoopBackOff is a deployment failure; below it the JobManager is
	// restarting (K8S_INITIALIZING). Default 3.
	CrashLoopRestarts int32
}

// SetDefaults replaces the zero and negative fields of c with the defaults.
func (c *Config) SetDefaults() {
	if c.SilentKeep <= 0 {
		c.SilentKeep = DefaultSilentKeep
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = DefaultStartTimeout
	}
	if c.CrashLoopRestarts <= 0 {
		c.CrashLoopRestarts = DefaultCrashLoopRestarts
	}
}

// Validate reports every negative field at once. Zero fields are valid:
// they mean the default.
func (c Config) Validate() error {
	var errs []error
	if c.SilentKeep < 0 {
		errs = append(errs, errors.New("state: SilentKeep must not be negative"))
	}
	if c.StartTimeout < 0 {
		errs = append(errs, errors.New("state: StartTimeout must not be negative"))
	}
	if c.CrashLoopRestarts < 0 {
		errs = append(errs, errors.New("state: CrashLoopRestarts must not be negative"))
	}
	return errors.Join(errs...)
}
