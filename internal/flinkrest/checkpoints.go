package flinkrest

import (
	"context"
	"strings"
	"time"
)

// CheckpointStats is GET /jobs/{jobid}/checkpoints (Flink's
// CheckpointingStatistics).
type CheckpointStats struct {
	// Counts are the job's checkpoint counters.
	Counts CheckpointCounts
	// Latest are the latest checkpoints of each kind; each may be nil.
	Latest LatestCheckpoints
	// Summary are statistics over the recent completed checkpoints.
	Summary CheckpointSummary
	// History are the recent checkpoints, newest first, in progress ones
	// included.
	History []Checkpoint
}

// CheckpointCounts are the checkpoint counters of a job.
type CheckpointCounts struct {
	Restored   int64
	Total      int64
	InProgress int64
	Completed  int64
	Failed     int64
}

// LatestCheckpoints are the latest checkpoints of a job; Flink writes null
// for a kind that has none yet.
type LatestCheckpoints struct {
	Completed *Checkpoint
	Savepoint *Checkpoint
	Failed    *Checkpoint
	Restored  *RestoredCheckpoint
}

// Kinds of Checkpoint, from Flink's "@class" discriminator.
const (
	KindCompleted  = "completed"
	KindFailed     = "failed"
	KindInProgress = "in_progress"
)

// Checkpoint is one checkpoint or savepoint (Flink's CheckpointStatistics
// and its completed, failed and in-progress subtypes).
type Checkpoint struct {
	// Kind is KindCompleted, KindFailed or KindInProgress (real Flink's
	// "@class"; the spec's "className" is read too).
	Kind string
	// ID is the checkpoint id.
	ID int64
	// Status is COMPLETED, FAILED or IN_PROGRESS.
	Status string
	// IsSavepoint is set for savepoints.
	IsSavepoint bool
	// CheckpointType is CHECKPOINT, SAVEPOINT, SYNC_SAVEPOINT, ...
	CheckpointType string
	// TriggerTime and LatestAckTime are zero when unknown.
	TriggerTime   time.Time
	LatestAckTime time.Time
	// StateSize is the full state size, CheckpointedSize what this
	// checkpoint wrote (smaller with incremental checkpoints), in bytes.
	StateSize        int64
	CheckpointedSize int64
	// EndToEndDuration is from trigger to the last acknowledgement.
	EndToEndDuration time.Duration
	// NumSubtasks and NumAcknowledgedSubtasks count subtasks.
	NumSubtasks             int
	NumAcknowledgedSubtasks int
	// ExternalPath is where a completed checkpoint is stored.
	ExternalPath string
	// Discarded is set when a completed checkpoint was discarded.
	Discarded bool
	// FailureTime and FailureMessage describe a failed checkpoint.
	FailureTime    time.Time
	FailureMessage string
}

// RestoredCheckpoint is the checkpoint or savepoint a job restored from.
type RestoredCheckpoint struct {
	ID           int64
	RestoreTime  time.Time
	IsSavepoint  bool
	ExternalPath string
}

// CheckpointSummary are statistics over recent completed checkpoints.
type CheckpointSummary struct {
	// StateSize and CheckpointedSize are in bytes.
	StateSize        Stats
	CheckpointedSize Stats
	// EndToEndDuration is in milliseconds.
	EndToEndDuration Stats
}

// Stats are Flink's StatsSummaryDto. The percentiles are NaN while no
// checkpoint has completed (Flink writes the string "NaN").
type Stats struct {
	Min, Max, Avg            int64
	P50, P90, P95, P99, P999 float64
}

type statsJSON struct {
	Min  jsonInt   `json:"min"`
	Max  jsonInt   `json:"max"`
	Avg  jsonInt   `json:"avg"`
	P50  jsonFloat `json:"p50"`
	P90  jsonFloat `json:"p90"`
	P95  jsonFloat `json:"p95"`
	P99  jsonFloat `json:"p99"`
	P999 jsonFloat `json:"p999"`
}

func (s statsJSON) stats() Stats {
	return Stats{
		Min: int64(s.Min), Max: int64(s.Max), Avg: int64(s.Avg),
		P50: float64(s.P50), P90: float64(s.P90), P95: float64(s.P95), P99: float64(s.P99), P999: float64(s.P999),
	}
}

type checkpointJSON struct {
	Class                   string  `json:"@class"`
	ClassName               string  `json:"className"`
	ID                      jsonInt `json:"id"`
	Status                  string  `json:"status"`
	IsSavepoint             bool    `json:"is_savepoint"`
	CheckpointType          string  `json:"checkpoint_type"`
	TriggerTimestamp        jsonInt `json:"trigger_timestamp"`
	LatestAckTimestamp      jsonInt `json:"latest_ack_timestamp"`
	StateSize               jsonInt `json:"state_size"`
	CheckpointedSize        jsonInt `json:"checkpointed_size"`
	EndToEndDuration        jsonInt `json:"end_to_end_duration"`
	NumSubtasks             jsonInt `json:"num_subtasks"`
	NumAcknowledgedSubtasks jsonInt `json:"num_acknowledged_subtasks"`
	ExternalPath            string  `json:"external_path"`
	Discarded               bool    `json:"discarded"`
	FailureTimestamp        jsonInt `json:"failure_timestamp"`
	FailureMessage          string  `json:"failure_message"`
}

func (w *checkpointJSON) checkpoint() *Checkpoint {
	if w == nil {
		return nil
	}
	return &Checkpoint{
		Kind: checkpointKind(w.Class, w.ClassName, w.Status), ID: int64(w.ID), Status: strings.ToUpper(w.Status),
		IsSavepoint: w.IsSavepoint, CheckpointType: w.CheckpointType,
		TriggerTime: millisTime(w.TriggerTimestamp), LatestAckTime: millisTime(w.LatestAckTimestamp),
		StateSize: int64(w.StateSize), CheckpointedSize: int64(w.CheckpointedSize), EndToEndDuration: millisDuration(w.EndToEndDuration),
		NumSubtasks: int(w.NumSubtasks), NumAcknowledgedSubtasks: int(w.NumAcknowledgedSubtasks),
		ExternalPath: w.ExternalPath, Discarded: w.Discarded,
		FailureTime: millisTime(w.FailureTimestamp), FailureMessage: w.FailureMessage,
	}
}

// checkpointKind reads the discriminator: "@class" (completed, failed,
// in_progress), else the spec's "className" (which may be a Java class
// name), else the status.
func checkpointKind(class, className, status string) string {
	for _, s := range []string{class, className, status} {
		switch s = strings.ToLower(s); {
		case s == "":
		case strings.Contains(s, "progress") || strings.Contains(s, "pending"):
			return KindInProgress
		case strings.Contains(s, "fail"):
			return KindFailed
		case strings.Contains(s, "complet"):
			return KindCompleted
		}
	}
	return ""
}

// checkpointingLatestJSON is the part of Flink's CheckpointingStatistics
// LatestCheckpoints decodes: the rest is scanned, not decoded.
type checkpointingLatestJSON struct {
	Counts struct {
		Restored   jsonInt `json:"restored"`
		Total      jsonInt `json:"total"`
		InProgress jsonInt `json:"in_progress"`
		Completed  jsonInt `json:"completed"`
		Failed     jsonInt `json:"failed"`
	} `json:"counts"`
	Latest struct {
		Completed *checkpointJSON `json:"completed"`
		Savepoint *checkpointJSON `json:"savepoint"`
		Failed    *checkpointJSON `json:"failed"`
		Restored  *struct {
			ID               jsonInt `json:"id"`
			RestoreTimestamp jsonInt `json:"restore_timestamp"`
			IsSavepoint      bool    `json:"is_savepoint"`
			ExternalPath     string  `json:"external_path"`
		} `json:"restored"`
	} `json:"latest"`
}

// stats returns the counts and the latest checkpoints.
func (w *checkpointingLatestJSON) stats() *CheckpointStats {
	s := &CheckpointStats{
		Counts: CheckpointCounts{
			Restored: int64(w.Counts.Restored), Total: int64(w.Counts.Total), InProgress: int64(w.Counts.InProgress),
			Completed: int64(w.Counts.Completed), Failed: int64(w.Counts.Failed),
		},
		Latest: LatestCheckpoints{
			Completed: w.Latest.Completed.checkpoint(), Savepoint: w.Latest.Savepoint.checkpoint(), Failed: w.Latest.Failed.checkpoint(),
		},
	}
	if r := w.Latest.Restored; r != nil {
		s.Latest.Restored = &RestoredCheckpoint{
			ID: int64(r.ID), RestoreTime: millisTime(r.RestoreTimestamp), IsSavepoint: r.IsSavepoint, ExternalPath: r.ExternalPath,
		}
	}
	return s
}

type checkpointingStatisticsJSON struct {
	checkpointingLatestJSON
	Summary struct {
		StateSize        statsJSON `json:"state_size"`
		CheckpointedSize statsJSON `json:"checkpointed_size"`
		EndToEndDuration statsJSON `json:"end_to_end_duration"`
	} `json:"summary"`
	History []checkpointJSON `json:"history"`
}

// Checkpoints returns the checkpoint statistics of job jobID. An unknown
// job is an *Error for which IsNotFound is true.
func (c *Client) Checkpoints(ctx context.Context, base, jobID string) (*CheckpointStats, error) {
	var w checkpointingStatisticsJSON
	if err := c.getJSON(ctx, base, "/jobs/"+pathEscape(jobID)+"/checkpoints", &w); err != nil {
		return nil, err
	}
	s := w.stats()
	s.Summary = CheckpointSummary{
		StateSize: w.Summary.StateSize.stats(), CheckpointedSize: w.Summary.CheckpointedSize.stats(),
		EndToEndDuration: w.Summary.EndToEndDuration.stats(),
	}
	for i := range w.History {
		s.History = append(s.History, *w.History[i].checkpoint())
	}
	return s, nil
}

// LatestCheckpoints is Checkpoints without the summary and the history
// (left empty), which it does not decode: what a tracker polling
// thousands of jobs needs, for a fraction of the work.
func (c *Client) LatestCheckpoints(ctx context.Context, base, jobID string) (*CheckpointStats, error) {
	var w checkpointingLatestJSON
	if err := c.getJSON(ctx, base, "/jobs/"+pathEscape(jobID)+"/checkpoints", &w); err != nil {
		return nil, err
	}
	return w.stats(), nil
}

// CheckpointConfig is GET /jobs/{jobid}/checkpoints/config (Flink's
// CheckpointConfigInfo).
type CheckpointConfig struct {
	// Mode is EXACTLY_ONCE or AT_LEAST_ONCE (upper-cased; Flink writes
	// lower case).
	Mode string
	// Interval between periodic checkpoints; 0 when periodic
	// checkpointing is disabled (Flink writes 9223372036854775807).
	Interval time.Duration
	// Timeout, MinPause: 0 when unbounded or unset.
	Timeout  time.Duration
	MinPause time.Duration
	// MaxConcurrent checkpoints.
	MaxConcurrent int
	// Externalized is set when checkpoints are retained;
	// DeleteOnCancellation when they are deleted on cancel.
	Externalized         bool
	DeleteOnCancellation bool
	// StateBackend and CheckpointStorage are Flink's class names.
	StateBackend      string
	CheckpointStorage string
	// UnalignedCheckpoints is set for unaligned checkpoints.
	UnalignedCheckpoints bool
	// TolerableFailedCheckpoints before the job fails.
	TolerableFailedCheckpoints int
}

// CheckpointConfig returns the checkpointing configuration of job jobID.
func (c *Client) CheckpointConfig(ctx context.Context, base, jobID string) (*CheckpointConfig, error) {
	var w struct {
		Mode            string  `json:"mode"`
		Interval        jsonInt `json:"interval"`
		Timeout         jsonInt `json:"timeout"`
		MinPause        jsonInt `json:"min_pause"`
		MaxConcurrent   jsonInt `json:"max_concurrent"`
		Externalization struct {
			Enabled              bool `json:"enabled"`
			DeleteOnCancellation bool `json:"delete_on_cancellation"`
		} `json:"externalization"`
		StateBackend               string  `json:"state_backend"`
		CheckpointStorage          string  `json:"checkpoint_storage"`
		UnalignedCheckpoints       bool    `json:"unaligned_checkpoints"`
		TolerableFailedCheckpoints jsonInt `json:"tolerable_failed_checkpoints"`
	}
	if err := c.getJSON(ctx, base, "/jobs/"+pathEscape(jobID)+"/checkpoints/config", &w); err != nil {
		return nil, err
	}
	return &CheckpointConfig{
		Mode: strings.ToUpper(w.Mode), Interval: interval(w.Interval), Timeout: interval(w.Timeout), MinPause: interval(w.MinPause),
		MaxConcurrent: int(w.MaxConcurrent), Externalized: w.Externalization.Enabled, DeleteOnCancellation: w.Externalization.DeleteOnCancellation,
		StateBackend: w.StateBackend, CheckpointStorage: w.CheckpointStorage, UnalignedCheckpoints: w.UnalignedCheckpoints,
		TolerableFailedCheckpoints: int(w.TolerableFailedCheckpoints),
	}, nil
}
