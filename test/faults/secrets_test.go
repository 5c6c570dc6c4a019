package faults

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// secretHits counts the stack's secrets in every worker's output (over
// all its starts), every Redis value and every Kafka record (keys, values,
// headers: dead-letter reasons and error texts included). The table goes
// to the test log; any hit fails t.
func (s *stack) secretHits(t *testing.T) {
	t.Helper()
	names := map[string]string{s.secrets[0]: "registry password", s.secrets[1]: "Kafka SASL password", s.secrets[2]: "Kubernetes token"}
	hits := map[string]map[string]int{} // where -> secret name -> count
	add := func(where, text string) {
		for _, sec := range s.secrets {
			if n := strings.Count(text, sec); n > 0 {
				if hits[where] == nil {
					hits[where] = map[string]int{}
				}
				hits[where][names[sec]] += n
			}
		}
	}
	var lines int
	for _, p := range s.procs {
		for sec, n := range p.Hits() {
			if n > 0 {
				if hits["logs of "+p.Name] == nil {
					hits["logs of "+p.Name] = map[string]int{}
				}
				hits["logs of "+p.Name][names[sec]] += n
			}
		}
		lines += strings.Count(p.Output(), "\n")
	}

	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: s.redis.Addr})
	defer rdb.Close()
	keys, values := 0, 0
	iter := rdb.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		keys++
		add("redis keys", k)
		for _, v := range redisValues(ctx, rdb, k) {
			values++
			add("redis "+strings.SplitN(jobKeyPrefix.ReplaceAllString(k, ""), ":", 2)[0]+" values", v)
		}
	}
	if err := iter.Err(); err != nil {
		t.Errorf("scanning Redis: %v", err)
	}

	records := 0
	for _, topic := range s.topics.All() {
		for _, rec := range s.kafka.Consume(t, topic, 1<<30, 2*time.Second) {
			records++
			add("kafka "+topic, string(rec.Key)+"\n"+string(rec.Value))
			for _, h := range rec.Headers {
				add("kafka "+topic+" headers", h.Key+"="+string(h.Value))
			}
		}
	}
	t.Logf("secrets scan: %d log lines kept (every byte written was scanned), %d Redis keys with %d values, %d Kafka records: %d places with a hit",
		lines, keys, values, records, len(hits))
	for where, m := range hits {
		t.Errorf("secret found in %s: %v", where, m)
	}
}

// redisValues returns every value stored under key, whatever its type.
func redisValues(ctx context.Context, rdb *redis.Client, key string) []string {
	typ, err := rdb.Type(ctx, key).Result()
	if err != nil {
		return nil
	}
	switch typ {
	case "string":
		v, _ := rdb.Get(ctx, key).Result()
		return []string{v}
	case "hash":
		m, _ := rdb.HGetAll(ctx, key).Result()
		out := make([]string, 0, len(m))
		for f, v := range m {
			out = append(out, f+"="+v)
		}
		return out
	case "list":
		v, _ := rdb.LRange(ctx, key, 0, -1).Result()
		return v
	case "set":
		v, _ := rdb.SMembers(ctx, key).Result()
		return v
	case "zset":
		v, _ := rdb.ZRange(ctx, key, 0, -1).Result()
		return v
	case "stream":
		msgs, _ := rdb.XRange(ctx, key, "-", "+").Result()
		out := make([]string, 0, len(msgs))
		for _, m := range msgs {
			out = append(out, fmt.Sprint(m.Values))
		}
		return out
	}
	return nil
}

// jobKeyPrefix is the start of the track worker's keys: the prefix and,
// for a job's keys, its shard's hash tag (docs/redis.md).
var jobKeyPrefix = regexp.MustCompile(`^ff:(\{[0-9]+\}:)?`)
