package cli

import (
	"fmt"
	"io"
	"slices"

	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

// reasonMoved is the reason of a record whose job moved to another place
// (workers/track.ReasonMoved): TERMINATED, the message naming the target.
const reasonMoved = "moved"

// withoutMovedAway drops from jobs, the tracked jobs one cluster id names,
// the records of a job that moved (TERMINATED, moved) to another of them:
// a cluster id moved to another Kubernetes cluster or namespace names the
// job where it runs now, not the record it left behind, which
// --kube-cluster and --namespace still reach. It says so on warn.
func withoutMovedAway(jobs []*jobstore.Job, warn io.Writer) []*jobstore.Job {
	if len(jobs) < 2 {
		return jobs
	}
	keys := map[string]bool{}
	for _, j := range jobs {
		keys[j.Key] = true
	}
	movedTo := func(j *jobstore.Job) string {
		if j.State != messages.StateTerminated || j.Reason != reasonMoved || j.Op == nil || j.Op.Upgrade == nil {
			return ""
		}
		if to := j.Op.Upgrade.Job.Key(); to != j.Key && keys[to] {
			return to
		}
		return ""
	}
	out := slices.DeleteFunc(slices.Clone(jobs), func(j *jobstore.Job) bool { return movedTo(j) != "" })
	if len(out) == 0 {
		return jobs
	}
	for _, j := range jobs {
		if to := movedTo(j); to != "" {
			fmt.Fprintf(warn, "note: %s moved to %s (--kube-cluster and --namespace name the old record)\n", j.Key, to)
		}
	}
	return out
}
