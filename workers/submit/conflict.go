package submit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

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

// RequestHash is the content hash of a submit request: sha256 of its JSON
// encoding (the decoded request, so field order and spacing do not count).
func RequestHash(r *messages.SubmitRequested) string {
	b, err := json.Marshal(r)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// checkRequestConflict refuses ev when the job's cluster runs a request
// with ev's request id and another content hash (request_id_conflict,
// naming both): a changed request sent again under the same id would
// otherwise be applied over the running cluster without a word. The same
// request again (a redelivery) and a new request id pass. Session jobs
// have no Deployment of their own: their idempotency is the Flink job id.
func checkRequestConflict(ctx context.Context, cs kubernetes.Interface, ev *messages.ImageBuilt) error {
	if ev.Mode == messages.ModeSession {
		return nil
	}
	d, err := cs.AppsV1().Deployments(ev.Job.Namespace).Get(ctx, ev.Job.ClusterID, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return classify(fmt.Errorf("reading Deployment %s/%s: %w", ev.Job.Namespace, ev.Job.ClusterID, err))
	}
	stored, want := d.Annotations[AnnotationRequestHash], RequestHash(&ev.Request)
	if d.Annotations[AnnotationRequest] != ev.RequestID || stored == "" || stored == want {
		return nil
	}
	return failure.Permanentf(messages.DeployReasonRequestIDConflict,
		"request id %s is deployed with content %s; this request has content %s: send a changed request under a new request id",
		ev.RequestID, stored, want)
}
