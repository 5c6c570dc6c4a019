package submit

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/messages"
)

// AnnotationRequestHash is the content hash (RequestHash) of the request
// a JobManager Deployment runs, beside its request id: the same request id
// with other content is refused rather than silently applied.
const AnnotationRequestHash = "flinkferry.io/request-hash"

// AnnotationUpgradeOf and AnnotationRestoredFrom mark a Deployment an
// upgrade deployed (the track worker's hand-back): the run it replaced
// and the restore point the request was deployed with.
const (
	AnnotationUpgradeOf    = "flinkferry.io/upgrade-of"
	AnnotationRestoredFrom = "flinkferry.io/restored-from"
)

// RequestHash is the content hash of a submit request: sha256 of its JSON
// encoding (the decoded request, so field order and spacing do not count).
func RequestHash(r *messages.SubmitRequested) string {
	h, _ := messages.ContentHash(r)
	return h
}

// checkRequestConflict refuses ev when the job's cluster runs a request
// with ev's request id and another content hash (request_id_conflict,
// naming both): a changed request sent again under the same id would
// otherwise be applied over the running cluster without a word. The same
// request again (a redelivery) and a new request id pass. Session jobs
// have no Deployment of their own: their idempotency is the Flink job id.
//
// It returns the request id the job's cluster runs ("" when there is no
// cluster).
func checkRequestConflict(ctx context.Context, cs kubernetes.Interface, ev *messages.ImageBuilt) (string, error) {
	if ev.Mode == messages.ModeSession {
		return "", nil
	}
	d, err := cs.AppsV1().Deployments(ev.Job.Namespace).Get(ctx, ev.Job.ClusterID, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return "", nil
	case err != nil:
		return "", classify(fmt.Errorf("reading Deployment %s/%s: %w", ev.Job.Namespace, ev.Job.ClusterID, err))
	}
	running := d.Annotations[AnnotationRequest]
	if running == ev.RequestID {
		adoptUpgrade(ev, d.Annotations)
	}
	stored, want := d.Annotations[AnnotationRequestHash], RequestHash(&ev.Request)
	if running != ev.RequestID || stored == "" || stored == want {
		return running, nil
	}
	return running, failure.Permanentf(messages.DeployReasonRequestIDConflict,
		"request id %s is deployed with content %s; this request has content %s: send a changed request under a new request id",
		ev.RequestID, stored, want)
}

// upgradeOf decides what a request for an application cluster that runs
// another request becomes (docs/upgrades.md): handed to the track worker
// as an upgrade (nothing applied here), or, when it is the track worker's
// hand-back and the old cluster is still there, a transient error (the old
// cluster is being removed). A cluster running this request, or none,
// is applied as always.
func upgradeOf(ev *messages.ImageBuilt, running string) (*messages.UpgradeRequested, error) {
	if ev.Mode != messages.ModeApplication || running == "" || running == ev.RequestID {
		return nil, nil
	}
	if ev.UpgradeOf != "" && running == ev.UpgradeOf {
		return nil, fmt.Errorf("the cluster of %s still runs request %s, which this upgrade replaces: waiting for it to be removed", ev.Job.Key(), running)
	}
	img := *ev
	img.UpgradeOf = ""
	return &messages.UpgradeRequested{RequestID: ev.RequestID, Job: ev.Job, Running: running, Image: img, Time: time.Now().UTC()}, nil
}

// adoptUpgrade makes ev, a request the job's cluster runs because an
// upgrade deployed it, the event the upgrade deployed: a redelivery of the
// request as it was sent (no restore point, no upgrade_of) would otherwise
// differ from what runs (a content conflict) or, applied, remove the
// restore point from the running cluster's configuration. The request's
// own savepoint, if it named one, is what the upgrade kept.
func adoptUpgrade(ev *messages.ImageBuilt, annotations map[string]string) {
	of := annotations[AnnotationUpgradeOf]
	if of == "" || ev.UpgradeOf != "" {
		return
	}
	ev.UpgradeOf = of
	path := annotations[AnnotationRestoredFrom]
	if p := ev.Request.Program; p != nil && p.Savepoint == nil && path != "" {
		cp := *p
		cp.Savepoint = &messages.Savepoint{Path: path}
		ev.Request.Program = &cp
	}
}
