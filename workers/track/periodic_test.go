package track

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/ops"
)

// TestPeriodicSavepoints registers a running job with a one-minute
// savepoint policy deployed 150 s ago (slots 1 and 2 have begun): one
// periodic savepoint is taken, for the current slot only, recorded in the
// history with trigger periodic, and a second replica deciding the same
// slot takes none.
func TestPeriodicSavepoints(t *testing.T) {
	r := testenv.Redis(t)
	sim, hc := startSim(t)
	const ns, id = "periodic", "ps1"
	jobID := jobIDOf(7)
	cl := runningCluster(sim, id, jobID)
	cfg := fastTrack("p1")
	store := newStore(t, r, cfg.Shards)
	d := deployed(ns, id, jobID, restURL(ns, id))
	d.Time = time.Now().UTC().Add(-150 * time.Second)
	d.Request = &messages.SubmitRequested{
		RequestID: d.RequestID, Job: d.Job, Mode: d.Mode, Flink: messages.FlinkOptions{Version: "1.20"},
		Program:    &messages.Program{Jar: messages.Jar{URL: "https://artifacts.example.com/a.jar"}},
		Savepoints: &messages.SavepointPolicy{IntervalSeconds: 60, Format: messages.FormatNative},
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Register(context.Background(), d, time.Now()); err != nil {
		t.Fatal(err)
	}
	startReplica(t, r, cfg, "p1", hc, &recorder{})
	startReplica(t, r, cfg, "p2", hc, &recorder{})
	key := d.Job.Key()

	var sps []jobstore.SavepointEntry
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var err error
		if sps, err = store.Savepoints(context.Background(), key, 10); err != nil {
			t.Fatal(err)
		}
		if len(sps) > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // both replicas decide the slot again meanwhile
	if sps, _ = store.Savepoints(context.Background(), key, 10); len(sps) != 1 {
		t.Fatalf("history %+v, want exactly one periodic savepoint", sps)
	}
	sp := sps[0]
	if sp.Trigger != jobstore.TriggerPeriodic || sp.Result != ops.Completed || sp.Format != messages.FormatNative ||
		sp.RequestID != periodicID(d.RequestID, 2) || !strings.HasPrefix(sp.RequestID, periodicPrefix) {
		t.Fatalf("savepoint %+v, want a completed NATIVE periodic one for slot 2 (%s)", sp, periodicID(d.RequestID, 2))
	}
	if got := cl.Savepoints(); len(got) != 1 || got[0] != sp.Path {
		t.Fatalf("Flink took savepoints %v, want exactly %s", got, sp.Path)
	}
	if j := waitState(t, store, key, messages.StateRunning, 5*time.Second); j.Op == nil || j.Op.RequestID != sp.RequestID {
		t.Fatalf("job's operation %+v, want the periodic savepoint", j.Op)
	}
}
