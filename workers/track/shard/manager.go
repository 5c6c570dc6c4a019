package shard

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bsm/redislock"
	"github.com/redis/go-redis/v9"
)

// heartbeatScript records this replica as alive until Redis's own now +
// ARGV[2] ms, drops the replicas whose expiry has passed and returns the
// live ones. Redis's clock is the only one involved, so the replicas'
// clocks may disagree. (Scripts are replicated by effects since Redis 5, so
// TIME before a write is allowed.)
var heartbeatScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
return redis.call('ZRANGE', KEYS[1], 0, -1)
`)

// Manager holds this replica's shard leases in Redis and says which shards
// it owns. New builds it, Run keeps the leases; Owns, Owned and Changes are
// safe for concurrent use.
type Manager struct {
	rdb    redis.UniversalClient
	locks  *redislock.Client
	opts   Options
	log    *slog.Logger
	tick   time.Duration
	valid  time.Duration // local validity of a lease after its command was sent
	token  string        // random per Manager: a restarted replica with the same ID is another owner
	offset int
	epoch  time.Time

	// until[s] is the end of the local validity of shard s's lease, in
	// monotonic nanoseconds since epoch; 0 when not held.
	until []atomic.Int64

	changes chan Change
	started atomic.Bool

	pubMu      sync.Mutex
	reported   []int // the owned set as of the last published change
	unreadBase []int // the owned set a change still in the channel is relative to
	closed     bool

	// Owned by the Run goroutine.
	held      map[int]*redislock.Lock
	redisDown bool
}

// Change is a set of shards this replica gained and lost.
type Change struct {
	// Gained are the shards now owned that were not, sorted.
	Gained []int
	// Lost are the shards no longer owned, sorted. Owns(s) is already
	// false for each of them when the change is sent.
	Lost []int
}

// New returns a Manager for the replica opts.ReplicaID; it talks to Redis
// only once Run starts. rdb should bound commands by their context
// (go-redis ContextTimeoutEnabled, as internal/redisclient sets it).
func New(rdb redis.UniversalClient, opts Options) (*Manager, error) {
	if rdb == nil {
		return nil, errors.New("shard: nil Redis client")
	}
	opts = opts.withDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("drawing lease token: %w", err)
	}
	return &Manager{
		rdb:     rdb,
		locks:   redislock.New(rdb),
		opts:    opts,
		log:     opts.Logger.With("replica", opts.ReplicaID),
		tick:    opts.LeaseTTL / 3,
		valid:   opts.LeaseTTL - opts.SafetyMargin,
		token:   base64.RawURLEncoding.EncodeToString(raw),
		offset:  ShardOf(opts.ReplicaID, opts.Shards),
		epoch:   time.Now(),
		until:   make([]atomic.Int64, opts.Shards),
		changes: make(chan Change, 1),
		held:    map[int]*redislock.Lock{},
	}, nil
}

// now returns monotonic nanoseconds since m.epoch, always > 0.
func (m *Manager) now() int64 { return int64(time.Since(m.epoch)) + 1 }

// Owns reports whether this replica owns shard now: it holds the shard's
// lease and the lease's local validity (command sent + LeaseTTL -
// SafetyMargin) has not passed. It turns false on its own when refreshes
// stop succeeding, before the lease can expire in Redis, so a replica cut
// off from Redis stops polling before another can take the shard over.
func (m *Manager) Owns(shard int) bool {
	if shard < 0 || shard >= len(m.until) {
		return false
	}
	u := m.until[shard].Load()
	return u != 0 && m.now() < u
}

// Owned returns the shards Owns reports now, sorted.
func (m *Manager) Owned() []int {
	var out []int
	now := m.now()
	for s := range m.until {
		if u := m.until[s].Load(); u != 0 && now < u {
			out = append(out, s)
		}
	}
	return out
}

// Changes delivers the shards gained and lost, so a worker can start and
// stop per-shard loops. Sending never blocks the lease loop: a change not
// yet read is merged with the next one, so a reader always gets the net
// difference from the state it last read. The channel is closed when Run
// returns, after a last change that loses every shard.
func (m *Manager) Changes() <-chan Change { return m.changes }

// Shards returns the number of shards (Options.Shards after defaults).
func (m *Manager) Shards() int { return m.opts.Shards }

// Run keeps this replica's heartbeat and leases until ctx ends, every
// LeaseTTL/3 (the first round at once): heartbeat, refresh held leases,
// release the ones above the fair share, obtain free ones below it. Redis
// errors are logged and never end Run; leases stay owned while locally
// valid. On exit Run gives every shard up (Owns turns false first), removes
// its heartbeat and releases its leases, so other replicas take them over
// at their next tick. It returns nil when ctx ends and an error only when
// called twice.
func (m *Manager) Run(ctx context.Context) error {
	if !m.started.CompareAndSwap(false, true) {
		return errors.New("shard: Manager.Run called twice")
	}
	m.log.Info("shard leases starting", "shards", m.opts.Shards, "lease_ttl", m.opts.LeaseTTL, "first_shard", m.offset)
	wctx, wcancel := context.WithCancel(ctx)
	wdone := make(chan struct{})
	go func() {
		defer close(wdone)
		m.watchExpiry(wctx)
	}()
	defer func() {
		wcancel()
		<-wdone
		m.stop(ctx)
	}()
	ticker := time.NewTicker(m.tick)
	defer ticker.Stop()
	for {
		m.round(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// watchExpiry publishes a change when a lease's local validity ends, even
// while a round waits on an unresponsive Redis; it wakes at the earliest
// end, and at least once a tick.
func (m *Manager) watchExpiry(ctx context.Context) {
	t := time.NewTimer(m.tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		m.publish()
		next := m.tick
		now := m.now()
		for s := range m.until {
			if u := m.until[s].Load(); u > now && time.Duration(u-now) < next {
				next = time.Duration(u - now)
			}
		}
		t.Reset(next)
	}
}

// round is one tick of the lease loop, bounded by one tick so that an
// unresponsive Redis cannot delay the next one.
func (m *Manager) round(parent context.Context) {
	ctx, cancel := context.WithTimeout(parent, m.tick)
	defer cancel()
	var errs []error
	replicas, err := m.heartbeat(ctx)
	if err != nil {
		errs = append(errs, fmt.Errorf("heartbeat: %w", err))
	}
	errs = append(errs, m.refresh(ctx))
	m.dropExpired()
	m.publish() // a lost lease is reported before anything else is tried
	if err == nil {
		target := fairShare(m.opts.Shards, replicas, m.opts.ReplicaID)
		switch {
		case len(m.held) > target:
			errs = append(errs, m.release(ctx, m.extras(len(m.held)-target)))
		case len(m.held) < target:
			errs = append(errs, m.obtain(ctx, target-len(m.held)))
			m.publish()
		}
	}
	if parent.Err() != nil {
		return // stopping: errors are the cancellation's
	}
	m.noteRedis(errors.Join(errs...), len(replicas))
}

// heartbeat records this replica as alive and returns the live replicas.
func (m *Manager) heartbeat(ctx context.Context) ([]string, error) {
	ttl := strconv.FormatInt(m.opts.LeaseTTL.Milliseconds(), 10)
	return heartbeatScript.Run(ctx, m.rdb, []string{m.opts.Prefix + "replicas"}, m.opts.ReplicaID, ttl).StringSlice()
}

// refresh extends every held lease. A lease Redis no longer holds for this
// replica is lost at once; one whose refresh failed for another reason
// stays owned until its local validity ends.
func (m *Manager) refresh(ctx context.Context) error {
	var first error
	var lost []int
	for _, s := range m.heldSorted() {
		start := m.now()
		err := m.held[s].Refresh(ctx, m.opts.LeaseTTL, nil)
		switch {
		case err == nil:
			m.until[s].Store(start + int64(m.valid))
		case errors.Is(err, redislock.ErrNotObtained):
			m.until[s].Store(0)
			delete(m.held, s)
			lost = append(lost, s)
		case first == nil:
			first = fmt.Errorf("refreshing lease of shard %d: %w", s, err)
		}
	}
	if len(lost) > 0 {
		m.log.Warn("shard leases lost: Redis no longer holds them for this replica", "shards", lost)
	}
	return first
}

// dropExpired forgets the leases whose local validity has ended; they may
// be obtained again later (the lease token makes obtaining re-entrant).
func (m *Manager) dropExpired() {
	now := m.now()
	var lost []int
	for _, s := range m.heldSorted() {
		if u := m.until[s].Load(); u == 0 || now >= u {
			m.until[s].Store(0)
			delete(m.held, s)
			lost = append(lost, s)
		}
	}
	if len(lost) > 0 {
		m.log.Warn("shard leases expired locally: refreshes did not succeed in time", "shards", lost)
	}
}

// extras returns n held shards to give up: the last ones in this replica's
// preference order, so it keeps the ones it would pick first.
func (m *Manager) extras(n int) []int {
	held := m.heldSorted()
	slices.SortFunc(held, func(a, b int) int { return m.rank(b) - m.rank(a) })
	return held[:n]
}

// rank is shard's position in this replica's preference order.
func (m *Manager) rank(shard int) int {
	return (shard - m.offset + m.opts.Shards) % m.opts.Shards
}

// release gives shards up: Owns turns false and the reader is told first,
// then the leases are deleted so that another replica can obtain them. A
// lease whose release fails expires on its own.
func (m *Manager) release(ctx context.Context, shards []int) error {
	locks := make([]*redislock.Lock, 0, len(shards))
	for _, s := range shards {
		m.until[s].Store(0)
		locks = append(locks, m.held[s])
		delete(m.held, s)
	}
	m.publish()
	var first error
	for i, l := range locks {
		if err := l.Release(ctx); err != nil && !errors.Is(err, redislock.ErrLockNotHeld) && first == nil {
			first = fmt.Errorf("releasing lease of shard %d: %w", shards[i], err)
		}
	}
	return first
}

// obtain tries to obtain up to want free shards in preference order. One
// pipelined read finds the candidates (no lease, or a lease with this
// replica's token left over from a timed-out command); each is then
// obtained with SET NX, which may still lose a race.
func (m *Manager) obtain(ctx context.Context, want int) error {
	var cands []int
	for _, s := range preference(m.opts.Shards, m.offset) {
		if _, ok := m.held[s]; !ok {
			cands = append(cands, s)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	pipe := m.rdb.Pipeline()
	gets := make([]*redis.StringCmd, len(cands))
	for i, s := range cands {
		gets[i] = pipe.Get(ctx, m.key(s))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("reading leases: %w", err)
	}
	lockOpts := &redislock.Options{Token: m.token, Metadata: m.opts.ReplicaID}
	for i, s := range cands {
		if want == 0 {
			break
		}
		v, err := gets[i].Result()
		if err == nil && !strings.HasPrefix(v, m.token) {
			continue // another replica's
		}
		start := m.now()
		l, err := m.locks.Obtain(ctx, m.key(s), m.opts.LeaseTTL, lockOpts)
		switch {
		case err == nil:
			m.held[s] = l
			m.until[s].Store(start + int64(m.valid))
			want--
		case errors.Is(err, redislock.ErrNotObtained):
		default:
			return fmt.Errorf("obtaining lease of shard %d: %w", s, err)
		}
	}
	return nil
}

// stop gives every shard up, then removes the heartbeat and releases the
// leases with a fresh deadline of one tick, and closes Changes.
func (m *Manager) stop(parent context.Context) {
	shards := m.heldSorted()
	for _, s := range shards {
		m.until[s].Store(0)
	}
	m.publish()
	m.pubMu.Lock()
	m.closed = true
	close(m.changes)
	m.pubMu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), m.tick)
	defer cancel()
	var errs []error
	if err := m.rdb.ZRem(ctx, m.opts.Prefix+"replicas", m.opts.ReplicaID).Err(); err != nil {
		errs = append(errs, fmt.Errorf("removing heartbeat: %w", err))
	}
	for _, s := range shards {
		if err := m.held[s].Release(ctx); err != nil && !errors.Is(err, redislock.ErrLockNotHeld) {
			errs = append(errs, fmt.Errorf("releasing lease of shard %d: %w", s, err))
			break
		}
	}
	clear(m.held)
	if err := errors.Join(errs...); err != nil {
		m.log.Warn("shard leases not released; they expire on their own", "leases", len(shards), "err", err)
		return
	}
	m.log.Info("shard leases released", "leases", len(shards))
}

// publish sends the difference between the owned set and the one last
// published, merged with a change the reader has not taken yet. Run and the
// expiry watcher call it.
func (m *Manager) publish() {
	m.pubMu.Lock()
	defer m.pubMu.Unlock()
	if m.closed {
		return
	}
	now := m.Owned()
	gained, lost := minus(now, m.reported), minus(m.reported, now)
	if len(gained) == 0 && len(lost) == 0 {
		return
	}
	base := m.reported
	select {
	case <-m.changes: // unread: replace it by one relative to its own base
		base = m.unreadBase
	default:
	}
	m.reported = now
	if c := (Change{Gained: minus(now, base), Lost: minus(base, now)}); len(c.Gained) > 0 || len(c.Lost) > 0 {
		m.unreadBase = base
		m.changes <- c // never blocks: senders hold pubMu and the buffer is empty
	}
	m.log.Info("shards changed", "gained", len(gained), "lost", len(lost), "owned", len(now))
	m.log.Debug("shards changed", "gained_shards", gained, "lost_shards", lost)
}

// noteRedis logs Redis trouble once when it starts and once when it ends.
func (m *Manager) noteRedis(err error, replicas int) {
	switch {
	case err != nil && !m.redisDown:
		m.redisDown = true
		m.log.Warn("shard leases: redis unavailable; serving shards while their leases are locally valid", "owned", len(m.held), "err", err)
	case err != nil:
		m.log.Debug("shard leases: redis still unavailable", "owned", len(m.held), "err", err)
	case m.redisDown:
		m.redisDown = false
		m.log.Info("shard leases: redis reachable again", "owned", len(m.held), "replicas", replicas)
	}
}

func (m *Manager) key(shard int) string { return m.opts.Prefix + "lease:" + strconv.Itoa(shard) }

func (m *Manager) heldSorted() []int {
	out := make([]int, 0, len(m.held))
	for s := range m.held {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// minus returns the elements of sorted a that are not in sorted b.
func minus(a, b []int) []int {
	var out []int
	for _, x := range a {
		if _, found := slices.BinarySearch(b, x); !found {
			out = append(out, x)
		}
	}
	return out
}
