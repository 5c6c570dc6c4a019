package shard

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

// DefaultLeaseTTL is applied by New to a zero LeaseTTL. A zero Prefix or
// Shards takes the job store's default (jobstore.DefaultPrefix,
// jobstore.DefaultShards): leases and jobs share one keyspace.
const DefaultLeaseTTL = 15 * time.Second

// MinLeaseTTL is the shortest LeaseTTL New accepts: leases are set in whole
// milliseconds and a tick (LeaseTTL/3) must leave room for a round trip.
const MinLeaseTTL = 30 * time.Millisecond

// Options configure a Manager. Every replica of a deployment must use the
// same Prefix, Shards and LeaseTTL.
type Options struct {
	// Prefix starts every key: leases are "<Prefix>lease:<shard>", the
	// replica heartbeats the sorted set "<Prefix>replicas". Default
	// jobstore.DefaultPrefix ("ff:"); the job store's Options.Prefix.
	Prefix string
	// Shards is the number of shards jobs are split into (ShardOf).
	// Default jobstore.DefaultShards (128); the job store's Options.Shards.
	Shards int
	// ReplicaID names this replica in the heartbeat set and in the lease
	// values; unique per running replica (e.g. hostname-pid). Required.
	// A restarted replica may reuse its ID: its leases are told apart by a
	// random token drawn by New.
	ReplicaID string
	// LeaseTTL is the lifetime of a lease and of a heartbeat in Redis; both
	// are renewed every LeaseTTL/3. Default 15s.
	LeaseTTL time.Duration
	// SafetyMargin is how long before a lease can expire in Redis the
	// replica stops believing it owns the shard: a lease obtained or
	// refreshed by a command sent at t is owned until t + LeaseTTL -
	// SafetyMargin. It covers clock rate differences between this host and
	// Redis and a poll that started just before the end. Default LeaseTTL/5;
	// must be below LeaseTTL/2.
	SafetyMargin time.Duration
	// Logger receives lease changes and Redis trouble. Default slog.Default().
	Logger *slog.Logger
}

// withDefaults returns o with zero fields set to their defaults.
func (o Options) withDefaults() Options {
	if o.Prefix == "" {
		o.Prefix = jobstore.DefaultPrefix
	}
	if o.Shards == 0 {
		o.Shards = jobstore.DefaultShards
	}
	if o.LeaseTTL == 0 {
		o.LeaseTTL = DefaultLeaseTTL
	}
	if o.SafetyMargin == 0 {
		o.SafetyMargin = o.LeaseTTL / 5
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Validate reports every problem of o at once. New validates o after
// applying the defaults, so zero fields other than ReplicaID are fine.
func (o Options) Validate() error {
	var errs []error
	if o.ReplicaID == "" {
		errs = append(errs, errors.New("shard: ReplicaID is required"))
	}
	if o.Shards < 1 {
		errs = append(errs, fmt.Errorf("shard: Shards must be >= 1, got %d", o.Shards))
	}
	if o.LeaseTTL < MinLeaseTTL {
		errs = append(errs, fmt.Errorf("shard: LeaseTTL must be >= %s, got %s", MinLeaseTTL, o.LeaseTTL))
	}
	if o.SafetyMargin < 0 || o.SafetyMargin >= o.LeaseTTL/2 {
		errs = append(errs, fmt.Errorf("shard: SafetyMargin must be >= 0 and < LeaseTTL/2, got %s", o.SafetyMargin))
	}
	return errors.Join(errs...)
}
