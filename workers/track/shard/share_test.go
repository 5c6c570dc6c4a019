package shard

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestShardOf(t *testing.T) {
	for _, tc := range []struct {
		key    string
		shards int
		want   int
	}{
		// FNV-1a 32: "" = 0x811c9dc5, "a" = 0xe40c292c, "foobar" = 0xbf9cf968.
		{"", 128, 0x811c9dc5 % 128},
		{"a", 128, 0xe40c292c % 128},
		{"foobar", 128, 0xbf9cf968 % 128},
		{"foobar", 7, 0xbf9cf968 % 7},
		{"prod/flink-jobs/wordcount", 1, 0},
		{"prod/flink-jobs/wordcount", 0, 0},
		{"prod/flink-jobs/wordcount", -3, 0},
	} {
		if got := ShardOf(tc.key, tc.shards); got != tc.want {
			t.Errorf("ShardOf(%q, %d) = %d, want %d", tc.key, tc.shards, got, tc.want)
		}
	}
}

func TestShardOfSpreadsKeys(t *testing.T) {
	const shards, keys = 128, 128 * 200
	counts := make([]int, shards)
	for i := range keys {
		counts[ShardOf("kube-"+strconv.Itoa(i%7)+"/ns-"+strconv.Itoa(i%13)+"/job-"+strconv.Itoa(i), shards)]++
	}
	lo, hi := slices.Min(counts), slices.Max(counts)
	if lo < 200/2 || hi > 200*2 {
		t.Errorf("shard sizes range %d..%d for a mean of 200", lo, hi)
	}
}

func TestFairShare(t *testing.T) {
	for _, tc := range []struct {
		name     string
		shards   int
		replicas []string
		want     []int // share of each replica, in the order of replicas
	}{
		{"one replica", 128, []string{"a"}, []int{128}},
		{"128 over 3", 128, []string{"c", "a", "b"}, []int{42, 43, 43}},
		{"128 over 4", 128, []string{"a", "b", "c", "d"}, []int{32, 32, 32, 32}},
		{"128 over 5", 128, []string{"e", "d", "c", "b", "a"}, []int{25, 25, 26, 26, 26}},
		{"more replicas than shards", 2, []string{"a", "b", "c"}, []int{1, 1, 0}},
		{"duplicate ids count once", 128, []string{"a", "a", "b"}, []int{64, 64, 64}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			total := 0
			for i, r := range tc.replicas {
				got := fairShare(tc.shards, tc.replicas, r)
				if got != tc.want[i] {
					t.Errorf("fairShare(%d, %v, %q) = %d, want %d", tc.shards, tc.replicas, r, got, tc.want[i])
				}
				total += got
			}
			if distinct := len(slices.Compact(slices.Sorted(slices.Values(tc.replicas)))); distinct == len(tc.replicas) && total != tc.shards {
				t.Errorf("shares add up to %d, want %d", total, tc.shards)
			}
		})
	}
	// A replica that does not see its own heartbeat counts itself last.
	if got, want := fairShare(128, []string{"a", "b"}, "0"), 42; got != want {
		t.Errorf("fairShare(128, [a b], missing) = %d, want %d", got, want)
	}
}

func TestPreferenceStartsAtOffsetAndCoversEveryShard(t *testing.T) {
	got := preference(5, 3)
	if want := []int{3, 4, 0, 1, 2}; !slices.Equal(got, want) {
		t.Errorf("preference(5, 3) = %v, want %v", got, want)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		errs []string // substrings, all expected
	}{
		{"defaults with an id", Options{ReplicaID: "r1"}, nil},
		{"id missing", Options{}, []string{"ReplicaID is required"}},
		{"every problem at once", Options{Shards: -1, LeaseTTL: time.Millisecond, SafetyMargin: time.Second},
			[]string{"ReplicaID is required", "Shards must be >= 1", "LeaseTTL must be >= 30ms", "SafetyMargin must be"}},
		{"margin of half the ttl", Options{ReplicaID: "r1", LeaseTTL: time.Second, SafetyMargin: 500 * time.Millisecond},
			[]string{"SafetyMargin must be >= 0 and < LeaseTTL/2"}},
		{"negative margin", Options{ReplicaID: "r1", SafetyMargin: -time.Second}, []string{"SafetyMargin"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.withDefaults().Validate()
			if len(tc.errs) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors %q", tc.errs)
			}
			for _, want := range tc.errs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Validate() = %q, want it to contain %q", err, want)
				}
			}
		})
	}
}

func TestOptionsDefaults(t *testing.T) {
	o := Options{ReplicaID: "r1"}.withDefaults()
	if o.Prefix != "ff:" || o.Shards != 128 || o.LeaseTTL != 15*time.Second || o.SafetyMargin != 3*time.Second || o.Logger == nil {
		t.Errorf("withDefaults() = %+v", o)
	}
}
