package track

import (
	"hash/fnv"
	"time"
)

// wheel spreads periodic work over its interval: every key gets a fixed
// slot from a hash, and each tick the keys of one slot are due. 10,000
// jobs polled every 5 s with 250 ms ticks are 500 polls per tick instead
// of 10,000 every 5 s, and a job is polled every interval exactly.
type wheel struct {
	tick  time.Duration
	slots int
}

func newWheel(interval, tick time.Duration) wheel {
	n := int(interval / tick)
	if n < 1 {
		n = 1
	}
	return wheel{tick: tick, slots: n}
}

// slot returns key's slot.
func (w wheel) slot(key string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return int(h.Sum32() % uint32(w.slots))
}

// at returns the slot due at tick number n.
func (w wheel) at(n int64) int { return int(n % int64(w.slots)) }

// spread returns the keys of m by slot.
func spread[V any](w wheel, m map[string]V) [][]string {
	out := make([][]string, w.slots)
	for k := range m {
		s := w.slot(k)
		out[s] = append(out[s], k)
	}
	return out
}
