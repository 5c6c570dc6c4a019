package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat:
// 100 on every Linux architecture Go supports (getconf CLK_TCK).
const clockTicks = 100

// cpuTime returns the user + system CPU time process pid has used so far,
// all its threads included.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading CPU time: %w", err)
	}
	return parseStatCPU(string(b))
}

// parseStatCPU reads utime and stime (fields 14 and 15) from the text of
// /proc/<pid>/stat. The command name (field 2) is in parentheses and may
// hold spaces and parentheses itself, so fields are counted from the last
// ')'.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("parsing /proc stat: no command name in %q", stat)
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 13 {
		return 0, fmt.Errorf("parsing /proc stat: %d fields after the command name, want at least 13", len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parsing /proc stat: %w", err)
		}
		ticks += v
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// peakRSS returns the peak resident set size (VmHWM) of process pid in
// bytes.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("reading peak RSS: %w", err)
	}
	return parseStatusKB(string(b), "VmHWM")
}

// parseStatusKB returns field (e.g. "VmHWM") of the text of
// /proc/<pid>/status in bytes; the file states it in kB.
func parseStatusKB(status, field string) (int64, error) {
	for line := range strings.Lines(status) {
		rest, ok := strings.CutPrefix(line, field+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("parsing /proc status: %s is %q", field, strings.TrimSpace(rest))
		}
		v, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parsing /proc status: %w", err)
		}
		return v * 1024, nil
	}
	return 0, fmt.Errorf("parsing /proc status: no %s line", field)
}

// redisCommands returns total_commands_processed from INFO stats.
func redisCommands(ctx context.Context, rdb *redis.Client) (int64, error) {
	info, err := rdb.Info(ctx, "stats").Result()
	if err != nil {
		return 0, fmt.Errorf("reading redis INFO stats: %w", err)
	}
	return parseInfoInt(info, "total_commands_processed")
}

// redisCommandStats returns the calls so far of each command, from INFO
// commandstats; commands run by Lua scripts count too.
func redisCommandStats(ctx context.Context, rdb *redis.Client) (map[string]int64, error) {
	info, err := rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		return nil, fmt.Errorf("reading redis INFO commandstats: %w", err)
	}
	return parseCommandStats(info)
}

// parseCommandStats reads the calls of each command from an INFO
// commandstats reply: lines "cmdstat_<name>:calls=<n>,usec=...".
func parseCommandStats(info string) (map[string]int64, error) {
	out := map[string]int64{}
	for line := range strings.Lines(info) {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		cmd, isCmd := strings.CutPrefix(name, "cmdstat_")
		if !ok || !isCmd {
			continue
		}
		for kv := range strings.SplitSeq(rest, ",") {
			if v, ok := strings.CutPrefix(kv, "calls="); ok {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("parsing redis INFO commandstats: %q: %w", line, err)
				}
				out[cmd] = n
			}
		}
	}
	return out, nil
}

// parseInfoInt returns the integer field of a Redis INFO reply.
func parseInfoInt(info, field string) (int64, error) {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parsing redis INFO %s: %w", field, err)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("redis INFO has no %s", field)
}

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// xs, which it sorts; NaN when xs is empty. +Inf values (jobs never
// polled) sort last.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	slices.Sort(xs)
	rank := int(math.Ceil(p / 100 * float64(len(xs))))
	return xs[min(max(rank, 1), len(xs))-1]
}

// median returns the median of xs (the mean of the middle two for an even
// count) without changing xs; NaN when xs is empty.
// medianOf is the median of f over rs.
func medianOf[T any](rs []T, f func(T) float64) float64 {
	xs := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = f(r)
	}
	return median(xs)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// ages turns last-poll times (Unix milliseconds; 0 = never polled) into
// staleness in seconds at now; a job never polled is +Inf.
func ages(now time.Time, lastPolls []int64) []float64 {
	out := make([]float64, len(lastPolls))
	for i, ms := range lastPolls {
		if ms <= 0 {
			out[i] = math.Inf(1)
			continue
		}
		out[i] = now.Sub(time.UnixMilli(ms)).Seconds()
	}
	return out
}

// commandCounter is a go-redis hook counting the commands a client sends,
// pipelined ones included, so the parent's own reads can be subtracted
// from the server's total.
type commandCounter struct{ n atomic.Int64 }

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}
