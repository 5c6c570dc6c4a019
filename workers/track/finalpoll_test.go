package track

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/flinkrest"
	"github.com/flinkferry/flinkferry/internal/flinksim"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

// TestTrackTerminalAtFirstPoll: a job that failed before the tracker first
// reached it (here after 10 s of RUNNING with a checkpoint every second)
// is FAILED at its first poll, and that final poll still reads its
// checkpoints and its JobManager's metrics: Redis holds the path of the
// last completed checkpoint, the one to restart from. Metric polls are an
// hour apart, so only the final poll can read them. (Before, polling
// stopped with the terminal state and nothing was read.)
func TestTrackTerminalAtFirstPoll(t *testing.T) {
	r := testenv.Redis(t)
	sim, hc := startSim(t)
	cfg := fastTrack("")
	cfg.ClusterMetricInterval = time.Hour
	store := newStore(t, r, cfg.Shards)
	ctx := context.Background()

	clock := flinksim.NewManualClock(time.Now())
	jobs := []struct{ id, flinkJob string }{{"failed-early", jobIDOf(0)}, {"finished-early", jobIDOf(1)}}
	for i, j := range jobs {
		end := flinksim.Failed
		if i == 1 {
			end = flinksim.Finished
		}
		sim.AddCluster(kubeclusters.RestServiceName(j.id), flinksim.ClusterOptions{
			Application: true, TaskManagers: 2, Clock: clock,
			Jobs: []flinksim.JobSpec{{ID: j.flinkJob, Script: flinksim.Script{{State: flinksim.Running, For: 10 * time.Second}, {State: end}},
				Checkpoints: flinksim.CheckpointSpec{Interval: time.Second}}},
		})
	}
	clock.Advance(15 * time.Second) // checkpoints 1 to 9 or so completed, then the job ended
	for _, j := range jobs {
		if _, err := store.Register(ctx, deployed("flink", j.id, j.flinkJob, restURL("flink", j.id)), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	startReplicaWith(t, r, cfg, "r1", Deps{
		Flink: flinkrest.New(flinkrest.Options{HTTPClient: hc, RequestTimeout: cfg.RequestTimeout}), Publisher: &recorder{},
	})
	for i, j := range jobs {
		key := messages.JobRef{Namespace: "flink", ClusterID: j.id}.Key()
		want := messages.StateFailed
		if i == 1 {
			want = messages.StateFinished
		}
		waitState(t, store, key, want, 10*time.Second)
		var got *jobstore.Job
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if got, _ = store.Get(ctx, key); got.Checkpoints.Completed > 0 {
				break
			}
		}
		cp := got.Checkpoints
		if cp.Completed == 0 || cp.LastCompletedID == 0 || !strings.HasSuffix(cp.LastCompletedPath, fmt.Sprintf("/chk-%d", cp.LastCompletedID)) {
			t.Errorf("%s (%s): checkpoints = %+v, want the last completed one with its path", j.id, got.State, cp)
		}
		if got.Metrics.TaskManagers != 2 || got.Metrics.FlinkVersion == "" {
			t.Errorf("%s (%s): metrics = %+v, want the JobManager's (2 TaskManagers)", j.id, got.State, got.Metrics)
		}
	}
}
