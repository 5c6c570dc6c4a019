package jobstore

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Defaults of Options. DefaultPrefix and DefaultShards are also the
// defaults of the shard leases (workers/track/shard) and of the track
// worker's FLINKFERRY_TRACK_REDIS_PREFIX and FLINKFERRY_TRACK_SHARDS: jobs
// and their leases share one keyspace.
const (
	DefaultPrefix            = "ff:"
	DefaultShards            = 128
	DefaultTransitionsMaxLen = 100
	DefaultTerminalRetention = 7 * 24 * time.Hour
)

// maxShards bounds Options.Shards: each shard has its own set and outbox
// stream, and shard leases are per shard.
const maxShards = 16384

// Options configure a Store. Zero fields take their defaults.
type Options struct {
	// Prefix starts every key, so several installations can share one
	// Redis database. Default "ff:".
	Prefix string
	// Shards is the number of shards jobs are split into (ShardOf). Every
	// replica and the CLI must use the same value. Default 128.
	Shards int
	// TransitionsMaxLen caps each job's transitions stream (approximate
	// trimming: Redis keeps at least this many). Default 100.
	TransitionsMaxLen int64
	// TerminalRetention is how long a job stays after it entered a
	// terminal state; Sweep removes it afterwards. Default 7 days.
	TerminalRetention time.Duration
}

// withDefaults returns o with zero fields set to their defaults.
func (o Options) withDefaults() Options {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Shards == 0 {
		o.Shards = DefaultShards
	}
	if o.TransitionsMaxLen == 0 {
		o.TransitionsMaxLen = DefaultTransitionsMaxLen
	}
	if o.TerminalRetention == 0 {
		o.TerminalRetention = DefaultTerminalRetention
	}
	return o
}

// Validate reports every problem of o (after defaults) at once.
func (o Options) Validate() error {
	o = o.withDefaults()
	var errs []error
	if o.Shards < 1 || o.Shards > maxShards {
		errs = append(errs, fmt.Errorf("jobstore: Shards must be between 1 and %d, got %d", maxShards, o.Shards))
	}
	if o.TransitionsMaxLen < 1 {
		errs = append(errs, fmt.Errorf("jobstore: TransitionsMaxLen must be > 0, got %d", o.TransitionsMaxLen))
	}
	if o.TerminalRetention < 0 {
		errs = append(errs, fmt.Errorf("jobstore: TerminalRetention must be > 0, got %s", o.TerminalRetention))
	}
	if len(o.Prefix) > 64 {
		errs = append(errs, errors.New("jobstore: Prefix must be at most 64 bytes"))
	}
	if strings.ContainsAny(o.Prefix, "{}") {
		// The shard's hash tag must be the first {...} of every key.
		errs = append(errs, errors.New("jobstore: Prefix must not contain '{' or '}'"))
	}
	return errors.Join(errs...)
}
