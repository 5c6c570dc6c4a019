package track

import (
	"time"

	"github.com/flinkferry/flinkferry/internal/flinkrest"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

// memoryBytes parses a Flink memory size from /jobmanager/config; 0 when
// absent or unreadable.
func memoryBytes(s string) int64 {
	if s == "" {
		return 0
	}
	n, err := messages.ParseMemorySize(s)
	if err != nil {
		return 0
	}
	return n
}

// checkpointSummary condenses /jobs/{id}/checkpoints into what Redis keeps.
func checkpointSummary(cp *flinkrest.CheckpointStats) *jobstore.Checkpoints {
	s := &jobstore.Checkpoints{
		Total: cp.Counts.Total, Completed: cp.Counts.Completed, Failed: cp.Counts.Failed,
		InProgress: cp.Counts.InProgress, Restored: cp.Counts.Restored,
	}
	if c := cp.Latest.Completed; c != nil {
		s.LastCompletedID, s.LastCompletedAt, s.LastCompletedSize, s.LastCompletedPath = c.ID, c.LatestAckTime, c.StateSize, c.ExternalPath
	}
	if f := cp.Latest.Failed; f != nil {
		s.LastFailedAt, s.LastFailureMessage = f.FailureTime, truncate(f.FailureMessage, 1024)
	}
	return s
}

// sameCheckpoints reports whether a and b are the same summary as stored
// (times at millisecond precision, as Redis keeps them).
func sameCheckpoints(a, b jobstore.Checkpoints) bool {
	ms := func(t time.Time) time.Time {
		if t.IsZero() {
			return time.Time{}
		}
		return time.UnixMilli(t.UnixMilli()).UTC()
	}
	a.LastCompletedAt, b.LastCompletedAt = ms(a.LastCompletedAt), ms(b.LastCompletedAt)
	a.LastFailedAt, b.LastFailedAt = ms(a.LastFailedAt), ms(b.LastFailedAt)
	return a == b
}
