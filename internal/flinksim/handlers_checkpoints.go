package flinksim

import (
	"math"
	"net/http"
	"slices"
)

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

func handleCheckpoints(c *Cluster, w http.ResponseWriter, r *http.Request, p *params) {
	j, now := c.lockJob(w, p)
	if j == nil {
		return
	}
	cp := &j.cp
	s := checkpointingStatistics{
		Counts: counts{Restored: cp.restored, Total: cp.total, Completed: cp.completed, Failed: cp.failed},
		Latest: latestCheckpoints{
			Completed: cp.latestCompleted.json(), Savepoint: cp.latestSavepoint.json(), Failed: cp.latestFailed.json(),
		},
		History: make([]*checkpointJSON, 0, len(cp.history)+1),
	}
	if rs := cp.latestRestored; rs != nil {
		s.Latest.Restored = &restoredJSON{ID: rs.id, RestoreTimestamp: rs.at, IsSavepoint: rs.savepoint, ExternalPath: rs.externalPath}
	}
	s.Counts.InProgress = int32(len(j.ops))
	if pc := cp.pending; pc != nil {
		s.Counts.InProgress++
		elapsed := millis(now) - millis(pc.trigger)
		s.History = append(s.History, &checkpointJSON{
			Class: "in_progress", ID: pc.id, Status: "IN_PROGRESS", TriggerTimestamp: millis(pc.trigger),
			LatestAckTimestamp: millis(pc.trigger) + elapsed/2, EndToEndDuration: elapsed,
			NumSubtasks: pc.subtasks, NumAckSubtasks: pc.subtasks / 2, CheckpointType: "CHECKPOINT",
		})
	}
	for _, op := range j.ops {
		typ := "SAVEPOINT"
		if op.stop {
			typ = "SYNC_SAVEPOINT"
		}
		s.History = append(s.History, &checkpointJSON{
			Class: "in_progress", ID: op.cpID, Status: "IN_PROGRESS", IsSavepoint: true, SavepointFormat: &canonical,
			TriggerTimestamp: millis(op.started), LatestAckTimestamp: millis(op.started),
			EndToEndDuration: millis(now) - millis(op.started), NumSubtasks: j.numSubtasks(), CheckpointType: typ,
		})
	}
	for _, e := range cp.history {
		s.History = append(s.History, e.json())
	}
	size, dur := cp.sizes.summary(), cp.durations.summary()
	zero := cp.sizes.zeroSummary()
	s.Summary = checkpointSummary{
		CheckpointedSize: size, StateSize: size, EndToEndDuration: dur,
		AlignmentBuffered: zero, ProcessedData: zero, PersistedData: zero,
	}
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, s)
}

// summary is the StatsSummaryDto of the window's values.
func (w *window) summary() statsSummary {
	if w.count == 0 {
		return w.zeroSummary()
	}
	v := slices.Clone(w.last)
	slices.Sort(v)
	return statsSummary{
		Min: w.min, Max: w.max, Avg: w.sum / w.count,
		P50: quantile(v, 0.5), P90: quantile(v, 0.9), P95: quantile(v, 0.95), P99: quantile(v, 0.99), P999: quantile(v, 0.999),
	}
}

// zeroSummary is the summary of a statistic Flink tracks as zero (or of
// no values at all): the percentiles are NaN until a checkpoint completed.
func (w *window) zeroSummary() statsSummary {
	q := jsonFloat(0)
	if w.count == 0 {
		q = jsonFloat(math.NaN())
	}
	return statsSummary{P50: q, P90: q, P95: q, P99: q, P999: q}
}

// quantile estimates the q-th quantile of sorted values like Apache
// Commons Math's default Percentile (used by Flink's histogram).
func quantile(sorted []int64, q float64) jsonFloat {
	n := float64(len(sorted))
	pos := q * (n + 1)
	switch {
	case pos < 1:
		return jsonFloat(sorted[0])
	case pos >= n:
		return jsonFloat(sorted[len(sorted)-1])
	}
	lo := int(pos)
	frac := pos - float64(lo)
	a, b := float64(sorted[lo-1]), float64(sorted[lo])
	return jsonFloat(a + frac*(b-a))
}

// checkpointConfigInfo is Flink's CheckpointConfigInfo
// (GET /jobs/{jobid}/checkpoints/config).
type checkpointConfigInfo struct {
	Mode                       string          `json:"mode"`
	Interval                   int64           `json:"interval"`
	Timeout                    int64           `json:"timeout"`
	MinPause                   int64           `json:"min_pause"`
	MaxConcurrent              int64           `json:"max_concurrent"`
	Externalization            externalization `json:"externalization"`
	StateBackend               string          `json:"state_backend"`
	CheckpointStorage          string          `json:"checkpoint_storage"`
	UnalignedCheckpoints       bool            `json:"unaligned_checkpoints"`
	TolerableFailedCheckpoints int32           `json:"tolerable_failed_checkpoints"`
	AlignedCheckpointTimeout   int64           `json:"aligned_checkpoint_timeout"`
	CheckpointsAfterTasksEnd   bool            `json:"checkpoints_after_tasks_finish"`
	StateChangelogEnabled      bool            `json:"state_changelog_enabled"`
	ChangelogMaterialization   int64           `json:"changelog_periodic_materialization_interval"`
	ChangelogStorage           string          `json:"changelog_storage"`
}

type externalization struct {
	Enabled              bool `json:"enabled"`
	DeleteOnCancellation bool `json:"delete_on_cancellation"`
}

func handleCheckpointConfig(c *Cluster, w http.ResponseWriter, r *http.Request, p *params) {
	j, _ := c.lockJob(w, p)
	if j == nil {
		return
	}
	interval := int64(math.MaxInt64) // how Flink reports disabled periodic checkpoints
	if iv := j.spec.Checkpoints.Interval; iv > 0 {
		interval = iv.Milliseconds()
	}
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, checkpointConfigInfo{
		Mode: "exactly_once", Interval: interval, Timeout: 600000, MaxConcurrent: 1,
		Externalization: externalization{Enabled: true},
		StateBackend:    "HashMapStateBackend", CheckpointStorage: "FileSystemCheckpointStorage",
		CheckpointsAfterTasksEnd: true, ChangelogMaterialization: 600000, ChangelogStorage: "memory",
	})
}
