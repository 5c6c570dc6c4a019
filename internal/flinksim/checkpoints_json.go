package flinksim

// checkpointingStatistics is Flink's CheckpointingStatistics
// (GET /jobs/{jobid}/checkpoints).
type checkpointingStatistics struct {
	Counts  counts            `json:"counts"`
	Summary checkpointSummary `json:"summary"`
	Latest  latestCheckpoints `json:"latest"`
	History []*checkpointJSON `json:"history"`
}

type counts struct {
	Restored   int64 `json:"restored"`
	Total      int64 `json:"total"`
	InProgress int32 `json:"in_progress"`
	Completed  int64 `json:"completed"`
	Failed     int64 `json:"failed"`
}

type checkpointSummary struct {
	CheckpointedSize  statsSummary `json:"checkpointed_size"`
	StateSize         statsSummary `json:"state_size"`
	EndToEndDuration  statsSummary `json:"end_to_end_duration"`
	AlignmentBuffered statsSummary `json:"alignment_buffered"`
	ProcessedData     statsSummary `json:"processed_data"`
	PersistedData     statsSummary `json:"persisted_data"`
}

// statsSummary is Flink's StatsSummaryDto: percentiles are "NaN" while no
// checkpoint has completed.
type statsSummary struct {
	Min  int64     `json:"min"`
	Max  int64     `json:"max"`
	Avg  int64     `json:"avg"`
	P50  jsonFloat `json:"p50"`
	P90  jsonFloat `json:"p90"`
	P95  jsonFloat `json:"p95"`
	P99  jsonFloat `json:"p99"`
	P999 jsonFloat `json:"p999"`
}

// latestCheckpoints is Flink's LatestCheckpoints; each entry may be null.
type latestCheckpoints struct {
	Completed *checkpointJSON `json:"completed"`
	Savepoint *checkpointJSON `json:"savepoint"`
	Failed    *checkpointJSON `json:"failed"`
	Restored  *restoredJSON   `json:"restored"`
}

// checkpointJSON is Flink's CheckpointStatistics and its subtypes,
// discriminated by "@class": completed, failed or in_progress.
type checkpointJSON struct {
	Class              string   `json:"@class"`
	ID                 int64    `json:"id"`
	Status             string   `json:"status"`
	IsSavepoint        bool     `json:"is_savepoint"`
	SavepointFormat    *string  `json:"savepointFormat"`
	TriggerTimestamp   int64    `json:"trigger_timestamp"`
	LatestAckTimestamp int64    `json:"latest_ack_timestamp"`
	CheckpointedSize   int64    `json:"checkpointed_size"`
	StateSize          int64    `json:"state_size"`
	EndToEndDuration   int64    `json:"end_to_end_duration"`
	AlignmentBuffered  int64    `json:"alignment_buffered"`
	ProcessedData      int64    `json:"processed_data"`
	PersistedData      int64    `json:"persisted_data"`
	NumSubtasks        int      `json:"num_subtasks"`
	NumAckSubtasks     int      `json:"num_acknowledged_subtasks"`
	CheckpointType     string   `json:"checkpoint_type"`
	Tasks              struct{} `json:"tasks"`
	ExternalPath       *string  `json:"external_path,omitempty"`
	Discarded          *bool    `json:"discarded,omitempty"`
	FailureTimestamp   *int64   `json:"failure_timestamp,omitempty"`
	FailureMessage     *string  `json:"failure_message,omitempty"`
}

type restoredJSON struct {
	ID               int64  `json:"id"`
	RestoreTimestamp int64  `json:"restore_timestamp"`
	IsSavepoint      bool   `json:"is_savepoint"`
	ExternalPath     string `json:"external_path"`
}

var canonical = "CANONICAL"

func (e *checkpointEntry) json() *checkpointJSON {
	if e == nil {
		return nil
	}
	out := &checkpointJSON{
		Class: "completed", ID: e.id, Status: "COMPLETED", IsSavepoint: e.savepoint,
		TriggerTimestamp: e.trigger, LatestAckTimestamp: e.ack, CheckpointedSize: e.stateSize, StateSize: e.stateSize,
		EndToEndDuration: e.duration(), NumSubtasks: e.subtasks, NumAckSubtasks: e.subtasks, CheckpointType: e.typ,
	}
	if e.savepoint {
		out.SavepointFormat = &canonical
	}
	if e.failed {
		out.Class, out.Status = "failed", "FAILED"
		out.CheckpointedSize, out.StateSize = 0, 0
		out.NumAckSubtasks = e.subtasks / 2
		out.FailureTimestamp, out.FailureMessage = &e.failureTime, &e.failureMessage
		return out
	}
	discarded := false
	out.ExternalPath, out.Discarded = &e.externalPath, &discarded
	return out
}
