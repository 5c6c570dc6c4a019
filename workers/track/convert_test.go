package track

import (
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

func TestSameCheckpoints(t *testing.T) {
	at := time.Date(2026, 11, 28, 12, 0, 0, 123456789, time.UTC)
	stored := jobstore.Checkpoints{Total: 3, Completed: 2, LastCompletedID: 2, LastCompletedAt: time.UnixMilli(at.UnixMilli()).UTC()}
	for _, tc := range []struct {
		name string
		c    jobstore.Checkpoints
		want bool
	}{
		{"same at millisecond precision", jobstore.Checkpoints{Total: 3, Completed: 2, LastCompletedID: 2, LastCompletedAt: at}, true},
		{"same in another zone", jobstore.Checkpoints{Total: 3, Completed: 2, LastCompletedID: 2, LastCompletedAt: at.In(time.FixedZone("x", 3600))}, true},
		{"new checkpoint", jobstore.Checkpoints{Total: 4, Completed: 3, LastCompletedID: 3, LastCompletedAt: at.Add(time.Minute)}, false},
		{"new failure", jobstore.Checkpoints{Total: 3, Completed: 2, LastCompletedID: 2, LastCompletedAt: at, LastFailedAt: at}, false},
		{"nothing yet", jobstore.Checkpoints{}, false},
	} {
		if got := sameCheckpoints(tc.c, stored); got != tc.want {
			t.Errorf("%s: sameCheckpoints() = %v, want %v", tc.name, got, tc.want)
		}
	}
}
