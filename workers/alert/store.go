package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultPrefix is the default prefix of the alert worker's Redis keys.
const DefaultPrefix = "ff:alert:"

// Store keeps alert state in Redis. The keys the scripts touch together
// (state, rate, firing, pending) are named {<prefix>}...: the prefix is
// their hash tag, so they share one Redis Cluster slot (docs/redis.md).
//
//	{<prefix>}state:<fingerprint>  hash: status (firing, suppressed, resolved),
//	                             event (id of the last event applied), pending
//	                             (channels still to notify of it), kind, since,
//	                             notice (JSON), updated
//	{<prefix>}rate:<job key>     time of the job's last firing notice (rate limit)
//	{<prefix>}firing             set of firing fingerprints
//	{<prefix>}pending            set of fingerprints whose last notice a
//	                             channel has not taken yet
//	<prefix>history              sorted set of notices (Record JSON) by time
//	<prefix>restarts:<job key>   sorted set: the job's RESTARTING events by time
//	<prefix>cpfailed:<job key>   sorted set: samples of the job's failed
//	                             checkpoint count ("<ms>:<count>") by time
//	<prefix>tick:<loop>          taken for one interval by the replica that
//	                             runs the loop (evaluate, resend) this time
type Store struct {
	rdb         redis.UniversalClient
	prefix      string
	tagged      string // {prefix}: the keys the scripts touch together
	historyMax  int64
	retention   time.Duration
	minInterval time.Duration
}

// StoreOptions configure a Store.
type StoreOptions struct {
	// Prefix of every key (DefaultPrefix when empty).
	Prefix string
	// HistoryMax is how many notices the history keeps (1000 when 0).
	HistoryMax int
	// Retention is how long a resolved alert's state stays (168h when 0).
	Retention time.Duration
	// MinInterval is the shortest time between two firing notices of one
	// job; a firing alert within it is recorded as suppressed.
	MinInterval time.Duration
}

// NewStore returns a store on rdb.
func NewStore(rdb redis.UniversalClient, o StoreOptions) *Store {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.HistoryMax <= 0 {
		o.HistoryMax = 1000
	}
	if o.Retention <= 0 {
		o.Retention = 168 * time.Hour
	}
	return &Store{rdb: rdb, prefix: o.Prefix, tagged: "{" + o.Prefix + "}", historyMax: int64(o.HistoryMax), retention: o.Retention, minInterval: o.MinInterval}
}

// Action is what applying an event to an alert asks the worker to do.
type Action struct {
	// Kind: none (nothing changed), duplicate (the event was applied and
	// notified before), suppressed (fired within the job's minimum
	// interval: recorded, not sent), quiet (a suppressed alert resolved),
	// notify (send Status to Pending).
	Kind string
	// Status is firing or resolved (Kind notify).
	Status string
	// Pending are the channels to notify.
	Pending []string
	// Since is when the alert started firing.
	Since time.Time
}

// transitionScript applies one event to one alert (compare-and-set on the
// event id). KEYS: state, rate, firing set, pending set. ARGV: event id, matches (1/0),
// now ms, min interval ms, channels (comma-separated), retention s,
// notice JSON, event time ms, fingerprint.
var transitionScript = redis.NewScript(`
local st = redis.call('HMGET', KEYS[1], 'status', 'event', 'pending', 'kind', 'since')
local status, last, pending, kind, since = st[1], st[2], st[3], st[4], st[5]
if last == ARGV[1] then
  if pending and pending ~= '' then return {'notify', kind, pending, since} end
  return {'duplicate'}
end
local now = tonumber(ARGV[3])
if ARGV[2] == '1' then
  if status == 'firing' or status == 'suppressed' then
    redis.call('HSET', KEYS[1], 'event', ARGV[1], 'notice', ARGV[7], 'updated', now)
    return {'none'}
  end
  local interval = tonumber(ARGV[4])
  if interval > 0 then
    local lastSent = redis.call('GET', KEYS[2])
    if lastSent and now - tonumber(lastSent) < interval then
      redis.call('HSET', KEYS[1], 'status', 'suppressed', 'event', ARGV[1], 'pending', '', 'kind', 'firing',
        'since', ARGV[8], 'notice', ARGV[7], 'updated', now)
      redis.call('PERSIST', KEYS[1])
      return {'suppressed'}
    end
    redis.call('SET', KEYS[2], now, 'PX', interval)
  end
  redis.call('HSET', KEYS[1], 'status', 'firing', 'event', ARGV[1], 'pending', ARGV[5], 'kind', 'firing',
    'since', ARGV[8], 'notice', ARGV[7], 'updated', now)
  redis.call('PERSIST', KEYS[1])
  redis.call('SADD', KEYS[3], ARGV[9])
  redis.call('SADD', KEYS[4], ARGV[9])
  return {'notify', 'firing', ARGV[5], ARGV[8]}
end
if status == 'firing' then
  redis.call('HSET', KEYS[1], 'status', 'resolved', 'event', ARGV[1], 'pending', ARGV[5], 'kind', 'resolved',
    'notice', ARGV[7], 'updated', now)
  redis.call('EXPIRE', KEYS[1], ARGV[6])
  redis.call('SREM', KEYS[3], ARGV[9])
  redis.call('SADD', KEYS[4], ARGV[9])
  return {'notify', 'resolved', ARGV[5], since}
end
if status == 'suppressed' then
  redis.call('HSET', KEYS[1], 'status', 'resolved', 'event', ARGV[1], 'pending', '', 'kind', 'resolved',
    'notice', ARGV[7], 'updated', now)
  redis.call('EXPIRE', KEYS[1], ARGV[6])
  return {'quiet'}
end
return {'none'}
`)

// doneScript removes a delivered channel from the pending list of the
// event it was notified of, and the alert from the pending set once no
// channel waits. KEYS: state, pending set. ARGV: event id, channel,
// fingerprint.
var doneScript = redis.NewScript(`
local st = redis.call('HMGET', KEYS[1], 'event', 'pending')
if st[1] ~= ARGV[1] or not st[2] then return 0 end
local rest = {}
for c in string.gmatch(st[2], '[^,]+') do
  if c ~= ARGV[2] then table.insert(rest, c) end
end
redis.call('HSET', KEYS[1], 'pending', table.concat(rest, ','))
if #rest == 0 then redis.call('SREM', KEYS[2], ARGV[3]) end
return 1
`)

// Apply applies event id (matching the rule or not) to the alert of
// notice n, at now, within the job's minimum interval.
func (s *Store) Apply(ctx context.Context, id string, matches bool, n *Notice, channels []string, now time.Time) (Action, error) {
	return s.apply(ctx, id, matches, n, channels, now, s.minInterval)
}

// ApplyUnlimited is Apply without the job's minimum interval (conditions
// over time, whose windows already keep them from flapping).
func (s *Store) ApplyUnlimited(ctx context.Context, id string, matches bool, n *Notice, channels []string, now time.Time) (Action, error) {
	return s.apply(ctx, id, matches, n, channels, now, 0)
}

func (s *Store) apply(ctx context.Context, id string, matches bool, n *Notice, channels []string, now time.Time, minInterval time.Duration) (Action, error) {
	nj, err := json.Marshal(n)
	if err != nil {
		return Action{}, err
	}
	m := "0"
	if matches {
		m = "1"
	}
	res, err := transitionScript.Run(ctx, s.rdb,
		[]string{s.tagged + "state:" + n.Fingerprint, s.tagged + "rate:" + n.Key, s.tagged + "firing", s.tagged + "pending"},
		id, m, now.UnixMilli(), minInterval.Milliseconds(), strings.Join(channels, ","),
		int64(s.retention.Seconds()), nj, n.Time.UnixMilli(), n.Fingerprint).StringSlice()
	if err != nil {
		return Action{}, fmt.Errorf("applying event to alert %s: %w", n.Fingerprint, err)
	}
	a := Action{Kind: res[0]}
	if a.Kind == "notify" && len(res) == 4 {
		a.Status = res[1]
		if res[2] != "" {
			a.Pending = strings.Split(res[2], ",")
		}
		if ms, err := strconv.ParseInt(res[3], 10, 64); err == nil {
			a.Since = time.UnixMilli(ms).UTC()
		}
	}
	return a, nil
}

// Done records that channel was notified of event id.
func (s *Store) Done(ctx context.Context, fingerprint, id, channel string) error {
	return doneScript.Run(ctx, s.rdb, []string{s.tagged + "state:" + fingerprint, s.tagged + "pending"}, id, channel, fingerprint).Err()
}

// Pending returns the fingerprints of the alerts whose last notice some
// channel has not taken yet.
func (s *Store) Pending(ctx context.Context) (map[string]bool, error) {
	fps, err := s.rdb.SMembers(ctx, s.tagged+"pending").Result()
	if err != nil {
		return nil, fmt.Errorf("reading pending alerts: %w", err)
	}
	out := make(map[string]bool, len(fps))
	for _, fp := range fps {
		out[fp] = true
	}
	return out, nil
}

// Record is one notice in the history, as `flinkferry alerts` shows it.
type Record struct {
	// Time is the event's time.
	Time time.Time `json:"time"`
	// Status is firing, resolved or suppressed (fired within the job's
	// minimum interval, not sent).
	Status      string `json:"status"`
	Rule        string `json:"rule"`
	Severity    string `json:"severity"`
	Fingerprint string `json:"fingerprint"`
	Job         string `json:"job"`
	From        string `json:"from,omitempty"`
	To          string `json:"to"`
	Reason      string `json:"reason,omitempty"`
	WebUIURL    string `json:"web_ui_url,omitempty"`
	// Channels are the channels that received it; Failed those that did
	// not, with the error (the event was dead-lettered).
	Channels []string          `json:"channels"`
	Failed   map[string]string `json:"failed,omitempty"`
	// Event is the status event's idempotency key.
	Event string `json:"event"`
}

// AddHistory appends r to the history and trims it.
func (s *Store) AddHistory(ctx context.Context, r Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	key := s.prefix + "history"
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, key, redis.Z{Score: float64(r.Time.UnixMilli()), Member: b})
		p.ZRemRangeByRank(ctx, key, 0, -s.historyMax-1)
		return nil
	})
	return err
}

// Recent returns the newest n notices of the history, newest first (all
// when n <= 0).
func (s *Store) Recent(ctx context.Context, n int) ([]Record, error) {
	stop := int64(-1)
	if n > 0 {
		stop = int64(n) - 1
	}
	raw, err := s.rdb.ZRevRange(ctx, s.prefix+"history", 0, stop).Result()
	if err != nil {
		return nil, err
	}
	out := make([]Record, 0, len(raw))
	for _, r := range raw {
		var rec Record
		if json.Unmarshal([]byte(r), &rec) == nil {
			out = append(out, rec)
		}
	}
	return out, nil
}

// Firing returns the notices of the alerts firing now, sorted by
// fingerprint (one pipelined round trip for all of them).
func (s *Store) Firing(ctx context.Context) ([]Notice, error) {
	fps, err := s.rdb.SMembers(ctx, s.tagged+"firing").Result()
	if err != nil {
		return nil, err
	}
	cmds := make([]*redis.SliceCmd, len(fps))
	if len(fps) > 0 {
		_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, fp := range fps {
				cmds[i] = p.HMGet(ctx, s.tagged+"state:"+fp, "notice", "since")
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reading %d firing alerts: %w", len(fps), err)
		}
	}
	var out []Notice
	for _, c := range cmds {
		v := c.Val()
		if len(v) != 2 {
			continue
		}
		raw, _ := v[0].(string)
		var n Notice
		if raw == "" || json.Unmarshal([]byte(raw), &n) != nil {
			continue
		}
		if since, _ := v[1].(string); since != "" {
			if ms, err := strconv.ParseInt(since, 10, 64); err == nil {
				n.StartsAt = time.UnixMilli(ms).UTC()
			}
		}
		out = append(out, n)
	}
	sortNotices(out)
	return out, nil
}

// AddRestart records that the job entered RESTARTING at at (event id is
// the member, so a redelivered event counts once) and forgets restarts
// older than keep.
func (s *Store) AddRestart(ctx context.Context, key, id string, at time.Time, keep time.Duration) error {
	k := s.prefix + "restarts:" + key
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, k, redis.Z{Score: float64(at.UnixMilli()), Member: id})
		p.ZRemRangeByScore(ctx, k, "-inf", "("+strconv.FormatInt(at.Add(-keep).UnixMilli(), 10))
		p.ZRemRangeByRank(ctx, k, 0, -maxRestartsKept-1)
		p.PExpire(ctx, k, keep)
		return nil
	})
	if err != nil {
		return fmt.Errorf("recording a restart of %s: %w", key, err)
	}
	return nil
}

// maxRestartsKept bounds the restarts kept per job.
const maxRestartsKept = 10000

// Restarts counts the job's restarts since since.
func (s *Store) Restarts(ctx context.Context, key string, since time.Time) (int, error) {
	n, err := s.rdb.ZCount(ctx, s.prefix+"restarts:"+key, strconv.FormatInt(since.UnixMilli(), 10), "+inf").Result()
	if err != nil {
		return 0, fmt.Errorf("counting restarts of %s: %w", key, err)
	}
	return int(n), nil
}

// SampleFailedCheckpoints records the job's failed checkpoint count at
// at, forgets samples older than keep, and returns those kept, oldest
// first.
func (s *Store) SampleFailedCheckpoints(ctx context.Context, key string, at time.Time, count int64, keep time.Duration) ([]countSample, error) {
	k := s.prefix + "cpfailed:" + key
	ms := at.UnixMilli()
	var rng *redis.ZSliceCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, k, redis.Z{Score: float64(ms), Member: strconv.FormatInt(ms, 10) + ":" + strconv.FormatInt(count, 10)})
		p.ZRemRangeByScore(ctx, k, "-inf", "("+strconv.FormatInt(at.Add(-keep).UnixMilli(), 10))
		p.ZRemRangeByRank(ctx, k, 0, -maxRestartsKept-1)
		p.PExpire(ctx, k, keep)
		rng = p.ZRangeWithScores(ctx, k, 0, -1)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sampling failed checkpoints of %s: %w", key, err)
	}
	var out []countSample
	for _, z := range rng.Val() {
		m, _ := z.Member.(string)
		_, c, ok := strings.Cut(m, ":")
		n, err := strconv.ParseInt(c, 10, 64)
		if !ok || err != nil {
			continue
		}
		out = append(out, countSample{At: time.UnixMilli(int64(z.Score)).UTC(), Count: n})
	}
	return out, nil
}

// Tick reports whether this replica takes loop's turn for the next
// interval (SET NX PX): one replica evaluates and resends per interval.
func (s *Store) Tick(ctx context.Context, loop string, interval time.Duration) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, s.prefix+"tick:"+loop, "1", interval).Result()
	if err != nil {
		return false, fmt.Errorf("taking the %s turn: %w", loop, err)
	}
	return ok, nil
}
