package build

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/messages"
)

// ReasonRequestIDConflict refuses a request whose request id was built
// with other content (messages.ContentHash): the same code the submit
// and track workers refuse it with.
const ReasonRequestIDConflict = messages.DeployReasonRequestIDConflict

// RequestHashes remembers the content hash each request id was built
// with (docs/upgrades.md, "Idempotency that tells the truth"): the build
// worker is the first to see a request, so it refuses a request id sent
// again with other content before anything is fetched, built or pushed.
type RequestHashes interface {
	// Hash returns the content hash requestID was built with, "" when it
	// was never built (or its record expired).
	Hash(ctx context.Context, requestID string) (string, error)
	// Remember records hash for requestID unless another hash is recorded
	// already, and returns the hash recorded (hash itself, or the other).
	Remember(ctx context.Context, requestID, hash string) (string, error)
}

// checkRequestID refuses req when its request id was built with another
// content hash (request_id_conflict naming both). It returns req's hash.
func checkRequestID(ctx context.Context, hs RequestHashes, req *messages.SubmitRequested) (string, error) {
	hash, err := messages.ContentHash(req)
	if err != nil {
		return "", failure.Permanent(failure.ReasonPermanent, err)
	}
	if hs == nil {
		return hash, nil
	}
	stored, err := hs.Hash(ctx, req.RequestID)
	if err != nil {
		return "", fmt.Errorf("reading the content hash of request %s: %w", req.RequestID, err)
	}
	return hash, conflict(req.RequestID, stored, hash)
}

// remember records req's hash once its image is built; a request with
// the same id and other content built meanwhile makes this one a
// conflict.
func remember(ctx context.Context, hs RequestHashes, req *messages.SubmitRequested, hash string) error {
	if hs == nil {
		return nil
	}
	stored, err := hs.Remember(ctx, req.RequestID, hash)
	if err != nil {
		return fmt.Errorf("recording the content hash of request %s: %w", req.RequestID, err)
	}
	return conflict(req.RequestID, stored, hash)
}

// conflict is the refusal of request id with content hash when stored
// (non-empty) differs.
func conflict(id, stored, hash string) error {
	if stored == "" || stored == hash {
		return nil
	}
	return failure.Permanentf(ReasonRequestIDConflict,
		"request id %s was built with content %s; this request has content %s: send a changed request under a new request id",
		id, stored, hash)
}

// RedisRequestHashes keeps request hashes in Redis: one string per
// request id, <Prefix>req:<request id>, expiring after TTL.
type RedisRequestHashes struct {
	Client redis.UniversalClient
	Prefix string
	TTL    time.Duration
}

func (r *RedisRequestHashes) key(id string) string { return r.Prefix + "req:" + id }

// Hash implements RequestHashes.
func (r *RedisRequestHashes) Hash(ctx context.Context, id string) (string, error) {
	v, err := r.Client.Get(ctx, r.key(id)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return v, err
}

// Remember implements RequestHashes: SET NX with the TTL, then the value
// stored when another was first.
func (r *RedisRequestHashes) Remember(ctx context.Context, id, hash string) (string, error) {
	ok, err := r.Client.SetNX(ctx, r.key(id), hash, r.TTL).Result()
	if err != nil || ok {
		return hash, err
	}
	return r.Hash(ctx, id)
}
