package submit

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/messages"
)

// move handles a request that moves a job (upgrade.from names another
// Kubernetes cluster, namespace or cluster id; docs/upgrades.md, "Move
// between clusters"):
//
//   - the request as sent, while the job's JobManager Deployment in the
//     old place runs another request: handed to the track worker as an
//     upgrade of the old job (keyed by it) whose target is ev.Job; nothing
//     is applied. The target must not run another request already
//     (cluster_id_taken). The hand-over is marked in the target
//     (upgrademark.go), so a redelivery after the old cluster was removed
//     is handed over again rather than deployed without its restore
//     point. The target running the request already (the move done, a
//     redelivery): nil, the deploy a no-op. Nothing running in the old
//     place and no mark: refused move_source_not_running, nothing
//     deployed: a session job (not moved, docs/decisions.md), a job
//     suspended or ended (resume it first) or unknown would otherwise get
//     a second run in the target, without its state.
//   - the track worker's hand-back (moved_from set): a transient error
//     while the old place's Deployment is still there, so the new cluster
//     never runs beside the old one; nil once it is gone.
func (h *Handler) move(ctx context.Context, cl *kubeclusters.Cluster, ev *messages.ImageBuilt) (*messages.UpgradeRequested, error) {
	if ev.MovedFrom != nil {
		running, err := h.runningIn(ctx, *ev.MovedFrom)
		switch {
		case err != nil:
			return nil, err
		case running != "":
			return nil, fmt.Errorf("the cluster of %s, which this move replaces, still runs request %s: waiting for it to be removed", ev.MovedFrom.Key(), running)
		}
		return nil, nil
	}
	from, moves := ev.Request.MovedFrom()
	if !moves || ev.UpgradeOf != "" || ev.Mode != messages.ModeApplication {
		return nil, nil
	}
	here, err := checkRequestConflict(ctx, cl.Kube, ev)
	switch {
	case err != nil:
		return nil, err
	case here == ev.RequestID:
		return nil, nil // moved already: a redelivery
	case here != "":
		return nil, failure.Permanentf(messages.DeployReasonClusterIDTaken,
			"%s, where this request moves the job %s, runs request %s: a move needs a place no job runs in", ev.Job.Key(), from.Key(), here)
	}
	running, err := h.runningIn(ctx, from)
	if err != nil {
		return nil, err
	}
	if running == "" {
		// Handed over already and the old cluster removed since: a
		// redelivery, handed over again (the mark is in the target).
		if running, err = upgradeInFlight(ctx, cl.Kube, ev); err != nil {
			return nil, err
		}
	}
	switch running {
	case ev.RequestID:
		return nil, nil
	case "":
		return nil, failure.Permanentf(messages.DeployReasonMoveSourceNotRunning,
			"upgrade.from names %s, where no JobManager Deployment runs: nothing to move (a session job is not moved; a suspended or ended job is resumed first; without upgrade.from the request deploys a new job)", from.Key())
	}
	if err := markUpgrade(ctx, cl.Kube, ev, running); err != nil {
		return nil, classify(err)
	}
	img := *ev
	img.UpgradeOf, img.MovedFrom = "", nil
	target := ev.Job
	return &messages.UpgradeRequested{RequestID: ev.RequestID, Job: from, Target: &target, Running: running, Image: img, Time: time.Now().UTC()}, nil
}

// runningIn returns the request id job's JobManager Deployment runs, ""
// when there is none. A place not configured (kube cluster, namespace) is
// refused as a deploy of it would be.
func (h *Handler) runningIn(ctx context.Context, job messages.JobRef) (string, error) {
	cl, err := h.Clusters.For(job)
	if err != nil {
		return "", err
	}
	d, err := cl.Kube.AppsV1().Deployments(job.Namespace).Get(ctx, job.ClusterID, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return "", nil
	case err != nil:
		return "", classify(fmt.Errorf("reading Deployment %s/%s of %s: %w", job.Namespace, job.ClusterID, job.KubeCluster, err))
	}
	return d.Annotations[AnnotationRequest], nil
}
