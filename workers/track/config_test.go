package track

import (
	"reflect"
	"strconv"
	"testing"

	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

// TestKeyspaceDefaults checks that the environment's defaults of the key
// prefix and the shard count are the job store's (and so the shard
// leases'): struct tags cannot name the constants.
func TestKeyspaceDefaults(t *testing.T) {
	typ := reflect.TypeFor[TrackConfig]()
	for field, want := range map[string]string{
		"RedisPrefix": jobstore.DefaultPrefix,
		"Shards":      strconv.Itoa(jobstore.DefaultShards),
	} {
		f, ok := typ.FieldByName(field)
		if !ok {
			t.Fatalf("TrackConfig has no field %s", field)
		}
		if got := f.Tag.Get("default"); got != want {
			t.Errorf("TrackConfig.%s default = %q, want %q", field, got, want)
		}
	}
	c := TrackConfig{RedisPrefix: "x:", Shards: 7, ReplicaID: "r"}
	so, lo := c.storeOptions(), c.leaseOptions(nil)
	if so.Prefix != lo.Prefix || so.Shards != lo.Shards || so.Prefix != "x:" || so.Shards != 7 {
		t.Errorf("storeOptions() = %q/%d, leaseOptions() = %q/%d, want x:/7 for both", so.Prefix, so.Shards, lo.Prefix, lo.Shards)
	}
}
