package track

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/flinkferry/flinkferry/internal/admission"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
	"github.com/flinkferry/flinkferry/workers/track/ops"
)

// ReasonMoved is the reason of the last transition of a job moved to
// another place (upgrade.from): TERMINATED, the message naming the
// target's key.
const ReasonMoved = "moved"

// sharedSchemes are the savepoint directory schemes of storage services
// and distributed file systems every Kubernetes cluster reaches by name.
var sharedSchemes = map[string]bool{
	"s3": true, "s3a": true, "s3p": true, "gs": true, "abfs": true, "abfss": true, "wasb": true, "wasbs": true,
	"oss": true, "cos": true, "hdfs": true, "viewfs": true,
}

// sharedDir reports whether savepoint directory dir is reachable from
// every Kubernetes cluster: its scheme is a storage service's, or it is
// under one of the prefixes declared shared. file://, local:// and
// scheme-less paths are a volume of one cluster's pods otherwise.
func sharedDir(dir string, shared []string) bool {
	if u, err := url.Parse(dir); err == nil && sharedSchemes[strings.ToLower(u.Scheme)] {
		return true
	}
	return len(shared) > 0 && admission.AllowedLocation(dir, shared)
}

// movedAway reports whether j's operation is a move of j to another place
// (an upgrade whose new run is another job's).
func movedAway(j *jobstore.Job) bool {
	op := j.Op
	return op != nil && op.Operation == messages.OpUpgrade && op.Upgrade != nil && op.Upgrade.Job.Key() != j.Key
}

// checkMove refuses a move whose savepoint would be where the target
// cannot read it (savepoint_not_shared), before anything is stopped. The
// savepoint goes to the new request's state.savepoints.dir, else the old
// run's (set as the stop's target directory); a job that no longer runs
// moves from its history's latest savepoint, whose path is checked.
func (h *ControlHandler) checkMove(ctx context.Context, j *jobstore.Job, u *messages.UpgradeRequested, op *ops.Op) (string, error) {
	if op.Offline {
		if !sharedDir(op.Location, h.SharedSavepointDirs) {
			return fmt.Sprintf("the job does not run and its latest savepoint %s is local to Kubernetes cluster %q: %s cannot restore from it (%s)",
				op.Location, kubeName(j.Job), u.Target.Key(), sharedRule), nil
		}
		return "", nil
	}
	dir := u.Image.Request.Flink.DynamicOptionsMap()["state.savepoints.dir"]
	if dir == "" {
		run, err := h.Store.Run(ctx, j.Key)
		if err != nil {
			return "", err
		}
		if run.Request != nil {
			dir = run.Request.Flink.DynamicOptionsMap()["state.savepoints.dir"]
		}
	}
	switch {
	case dir == "":
		return "neither the new request nor the running one sets state.savepoints.dir: a move needs a savepoint directory both places reach (" + sharedRule + ")", nil
	case !sharedDir(dir, h.SharedSavepointDirs):
		return fmt.Sprintf("savepoint directory %s is local to Kubernetes cluster %q: %s could not restore from it (%s)",
			dir, kubeName(j.Job), u.Target.Key(), sharedRule), nil
	}
	op.Request = &messages.ControlRequested{RequestID: op.RequestID, Job: j.Job, Operation: messages.OpUpgrade,
		Savepoint: &messages.SavepointOptions{Directory: dir}}
	return "", nil
}

const sharedRule = "shared: the schemes s3, s3a, s3p, gs, abfs, abfss, wasb, wasbs, oss, cos, hdfs, viewfs, or a path under FLINKFERRY_TRACK_SHARED_SAVEPOINT_DIRS"

// kubeName is job's Kubernetes cluster as configured ("" the default).
func kubeName(job messages.JobRef) string {
	if job.KubeCluster == "" {
		return "default"
	}
	return job.KubeCluster
}
