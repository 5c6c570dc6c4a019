package jobstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flinkferry/flinkferry/messages"
)

// ErrNotFound is returned by Get for a job that is not stored.
var ErrNotFound = errors.New("jobstore: job not found")

// Store reads and writes tracked jobs in Redis. It is safe for concurrent
// use, also by several processes on the same Redis.
type Store struct {
	rdb  redis.UniversalClient
	opts Options
	k    keys
}

// New returns a store on rdb after validating opts (zero fields take
// their defaults). rdb may reach a single Redis primary (standalone or
// Sentinel) or a Redis Cluster: every script and transaction touches the
// keys of one shard, which share a hash slot (docs/redis.md). A Ring is
// refused: it shards by key without hash tags' guarantees of atomicity
// across its nodes' failures. The Lua scripts are run with EVALSHA and
// loaded on first use (and again after Redis lost its script cache, e.g.
// on a promoted replica).
func New(rdb redis.UniversalClient, opts Options) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("jobstore: nil redis client")
	}
	if _, ok := rdb.(*redis.Ring); ok {
		return nil, errors.New("jobstore: a Redis Ring is not supported: use a single primary (standalone or Sentinel) or a Redis Cluster")
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	return &Store{rdb: rdb, opts: opts, k: keys{p: opts.Prefix, shards: opts.Shards}}, nil
}

// Options returns the store's options with defaults applied.
func (s *Store) Options() Options { return s.opts }

// ShardOf returns the shard of key under the store's Options.Shards.
func (s *Store) ShardOf(key string) int { return ShardOf(key, s.opts.Shards) }

// RegisterOutcome says what Register did.
type RegisterOutcome string

// Register outcomes.
const (
	// Created: the job was new; it is STARTING at version 1.
	Created RegisterOutcome = "created"
	// Duplicate: the same request id is stored; nothing changed.
	Duplicate RegisterOutcome = "duplicate"
	// Resubmitted: a later run of the same job replaced the stored one; the
	// job is STARTING again.
	Resubmitted RegisterOutcome = "resubmitted"
	// Stale: the stored run was deployed later than this one; nothing
	// changed.
	Stale RegisterOutcome = "stale"
)

// Reasons of the transitions Register records.
const (
	// ReasonDeployed is the reason of the first transition, "" -> STARTING.
	ReasonDeployed = "deployed"
	// ReasonResubmitted is the reason of the transition to STARTING when a
	// new run replaces the stored one.
	ReasonResubmitted = "resubmitted"
)

// RegisterResult is what Register did and the job's version and state
// afterwards.
type RegisterResult struct {
	Outcome RegisterOutcome
	Version int64
	State   messages.JobState
	Shard   int
}

// Register records a deployed run, atomically and idempotently (one Lua
// script, docs/redis.md):
//
//   - an unknown job is created in STARTING at version 1 and one transition
//     "" -> STARTING (reason "deployed", time now) is recorded;
//   - the same RequestID as stored changes nothing (a redelivery, or the
//     worker's recovery from Kubernetes after the job was registered);
//   - a different RequestID deployed later (d.Time; on equal times the
//     greater RequestID wins, so every order of delivery converges) is a new
//     run of the job (the cluster id was submitted again): every run and
//     observation field is replaced, the job is STARTING from now, its
//     version is bumped, and a transition old -> STARTING (reason
//     "resubmitted") is recorded unless it was STARTING already;
//   - a different RequestID deployed earlier is a stale redelivery and
//     changes nothing.
//
// The run's redeploy inputs (d.Request, d.JarName, d.JarArtifact; Run
// reads them) belong to the run: a new run replaces them, and a run
// without them leaves none. A duplicate adds them when the stored run has
// no request and d has one (a job recovered from Kubernetes before its
// deployed event arrived), without bumping the version; otherwise it
// changes nothing.
//
// User information in d.RestEndpoint and d.WebUIURL is not stored, and
// the request is stored without secrets (see Run.Redacted).
func (s *Store) Register(ctx context.Context, d *messages.Deployed, now time.Time) (RegisterResult, error) {
	return s.register(ctx, d, now, false)
}

// RegisterRecovered is Register for a run rebuilt from Kubernetes after
// the job store lost it (the recovery): the state the job was in is
// unknown, so nothing is announced while it passes the registration's
// own states (STARTING, K8S_INITIALIZING), and its first other state is
// announced once from "" with reason "recovered" (docs/redis.md).
func (s *Store) RegisterRecovered(ctx context.Context, d *messages.Deployed, now time.Time) (RegisterResult, error) {
	return s.register(ctx, d, now, true)
}

func (s *Store) register(ctx context.Context, d *messages.Deployed, now time.Time, recovered bool) (RegisterResult, error) {
	if err := checkDeployed(d); err != nil {
		return RegisterResult{}, err
	}
	key := d.Job.Key()
	shard := s.ShardOf(key)
	var f fields
	f.str(fKubeCluster, d.Job.KubeCluster)
	f.str(fNamespace, d.Job.Namespace)
	f.str(fClusterID, d.Job.ClusterID)
	f.str(fMode, string(d.Mode))
	f.str(fRequestID, d.RequestID)
	f.str(fFlinkJobID, d.FlinkJobID)
	f.str(fSessionClusterID, d.SessionClusterID)
	f.str(fRestEndpoint, stripUserinfo(d.RestEndpoint))
	f.str(fWebUIURL, stripUserinfo(d.WebUIURL))
	f.str(fImage, d.Image)
	if len(d.Labels) > 0 {
		b, err := json.Marshal(d.Labels)
		if err != nil {
			return RegisterResult{}, fmt.Errorf("registering %s: encoding labels: %w", key, err)
		}
		f.str(fLabels, string(b))
	}
	f.time(fDeployedAt, d.Time)
	if d.Request != nil && d.Request.Savepoints != nil {
		b, err := json.Marshal(d.Request.Savepoints)
		if err != nil {
			return RegisterResult{}, fmt.Errorf("registering %s: encoding the savepoint policy: %w", key, err)
		}
		f.str(fSavepointPolicy, capText(redact(string(b)), 8192))
	}
	if d.Request != nil && d.Request.RestartPolicy != nil {
		b, err := json.Marshal(d.Request.RestartPolicy)
		if err != nil {
			return RegisterResult{}, fmt.Errorf("registering %s: encoding the restart policy: %w", key, err)
		}
		f.str(fRestartPolicy, string(b))
	}
	if err := runInputs(&f, d); err != nil {
		return RegisterResult{}, fmt.Errorf("registering %s: %w", key, err)
	}
	if recovered {
		f.str(fRecovered, "1")
	}

	args := []any{key, d.RequestID, ms(d.Time), ms(now), strconv.Itoa(shard), newIncarnation(),
		s.opts.TransitionsMaxLen, s.k.tag(shard)}
	args = append(args, f.set...)
	cmd, err := evalOne(ctx, s.rdb, registerScript, call{
		keys: []string{s.k.job(key), s.k.transitions(key), s.k.jobs(shard), s.k.terminal(shard), s.k.states(shard),
			s.k.kube(shard, d.Job.KubeCluster), s.k.namespace(shard, d.Job.Namespace)},
		args: args,
	})
	if err != nil {
		return RegisterResult{}, fmt.Errorf("registering %s: %w", key, err)
	}
	res, err := cmd.Slice()
	if err != nil || len(res) != 3 {
		return RegisterResult{}, fmt.Errorf("registering %s: unexpected script answer %v", key, cmd.Val())
	}
	out, _ := res[0].(string)
	ver, _ := res[1].(int64)
	st, _ := res[2].(string)
	return RegisterResult{Outcome: RegisterOutcome(out), Version: ver, State: messages.JobState(st), Shard: shard}, nil
}

// checkDeployed checks what Register relies on; the full validation is
// the message handler's.
func checkDeployed(d *messages.Deployed) error {
	if d == nil {
		return errors.New("registering: nil deployed event")
	}
	var errs []error
	if d.RequestID == "" {
		errs = append(errs, errors.New("request_id is required"))
	}
	if d.Job.Namespace == "" || d.Job.ClusterID == "" {
		errs = append(errs, errors.New("job.namespace and job.cluster_id are required"))
	}
	if d.Time.IsZero() {
		errs = append(errs, errors.New("time is required"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("registering %s: %w", d.Job.Key(), errors.Join(errs...))
	}
	return nil
}

// newIncarnation returns 8 random bytes in hex: it tells apart the event
// ids of a job hash and of one created again for the same key (after a
// Sweep, Forget or a flushed Redis), whose versions start again at 1.
func newIncarnation() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails since Go 1.24
	return hex.EncodeToString(b[:])
}

// Get returns the stored job with key, or ErrNotFound. Like GetMany it
// reads the job's fields (HMGET), not the run's redeploy inputs (Run).
func (s *Store) Get(ctx context.Context, key string) (*Job, error) {
	vals, err := s.rdb.HMGet(ctx, s.k.job(key), hashFields...).Result()
	if err != nil {
		return nil, fmt.Errorf("reading job %s: %w", key, err)
	}
	j, err := parseJob(key, hashOf(hashFields, vals))
	if err != nil {
		return nil, err
	}
	if j == nil {
		return nil, fmt.Errorf("reading job %s: %w", key, ErrNotFound)
	}
	return j, nil
}

// GetMany returns the jobs with keys in one pipeline (one HMGET of the
// job's fields each: the run's redeploy inputs, which may be large, stay
// in Redis), in the order of keys; a job that is not stored is nil.
func (s *Store) GetMany(ctx context.Context, keys []string) ([]*Job, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.HMGet(ctx, s.k.job(k), hashFields...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("reading %d jobs: %w", len(keys), err)
	}
	out := make([]*Job, len(keys))
	for i, c := range cmds {
		j, err := parseJob(keys[i], hashOf(hashFields, c.Val()))
		if err != nil {
			return nil, err
		}
		out[i] = j
	}
	return out, nil
}
