package submit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/flinkferry/flinkferry/messages"
)

// The run mark: a ConfigMap <cluster-id>-flinkferry-runs listing the
// request ids this worker applied to the job's application cluster, the
// last maxRunMarkIDs of them. It is not owned by the Deployment and has no
// type label, so it outlives the cluster the track worker removes on a
// suspend, a cancel or an upgrade (a delete removes it, see
// workers/track/cleanup.go).
//
// It answers a question Kafka's at-least-once delivery asks: an *image
// built* event delivered again (its submit worker killed before it
// committed the offset) after the run it started was suspended or
// replaced would otherwise start that run again: a JobManager running the
// job a second time, from no state, beside a SUSPENDED record (found by
// the fault suite's crash test). A request id the mark lists that is not
// the one running is such a redelivery: nothing is applied. A new run
// always comes under a new request id (resume, restart and upgrade get
// the operation's).

// maxRunMarkIDs bounds the run mark.
const maxRunMarkIDs = 32

// errRunOver says an event's run was applied before and is over.
var errRunOver = errors.New("this request's run was applied before and has been removed since (suspended, cancelled or replaced): a redelivery, nothing applied")

// runMarkName is the name of cluster id's run mark.
func runMarkName(clusterID string) string { return clusterID + "-flinkferry-runs" }

// LabelRunsOf labels a run mark with its cluster id.
const LabelRunsOf = "flinkferry.io/runs-of"

// appliedBefore reports whether ev's request id is in the job's run mark.
func appliedBefore(ctx context.Context, cs kubernetes.Interface, ev *messages.ImageBuilt) (bool, error) {
	ids, err := runMarkIDs(ctx, cs, ev.Job)
	return slices.Contains(ids, ev.RequestID), err
}

func runMarkIDs(ctx context.Context, cs kubernetes.Interface, job messages.JobRef) ([]string, error) {
	cm, err := cs.CoreV1().ConfigMaps(job.Namespace).Get(ctx, runMarkName(job.ClusterID), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, classify(fmt.Errorf("reading ConfigMap %s/%s: %w", job.Namespace, runMarkName(job.ClusterID), err))
	}
	return strings.Fields(cm.Data["request_ids"]), nil
}

// markRun adds ev's request id to the job's run mark, once its objects
// are applied.
func markRun(ctx context.Context, cs kubernetes.Interface, ev *messages.ImageBuilt) error {
	ids, err := runMarkIDs(ctx, cs, ev.Job)
	if err != nil || slices.Contains(ids, ev.RequestID) {
		return err
	}
	ids = append(ids, ev.RequestID)
	ids = ids[max(0, len(ids)-maxRunMarkIDs):]
	cm := corev1ac.ConfigMap(runMarkName(ev.Job.ClusterID), ev.Job.Namespace).
		WithLabels(map[string]string{"app.kubernetes.io/managed-by": "flinkferry", LabelRunsOf: ev.Job.ClusterID}).
		WithData(map[string]string{"request_ids": strings.Join(ids, "\n")})
	if _, err := cs.CoreV1().ConfigMaps(ev.Job.Namespace).Apply(ctx, cm, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
		return classify(fmt.Errorf("applying ConfigMap %s/%s: %w", ev.Job.Namespace, *cm.Name, err))
	}
	return nil
}
