package flinksim

import (
	"math"
	"net/http"
)

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
