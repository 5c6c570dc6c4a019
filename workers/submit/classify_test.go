package submit

import (
	"context"
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/messages"
)

func TestClassifyAPIErrors(t *testing.T) {
	gr := schema.GroupResource{Group: "apps", Resource: "deployments"}
	for _, tt := range []struct {
		name      string
		err       error
		permanent bool
	}{
		{"forbidden", apierrors.NewForbidden(gr, "wordcount", errors.New("RBAC")), true},
		{"invalid", apierrors.NewInvalid(schema.GroupKind{Group: "apps", Kind: "Deployment"}, "wordcount", nil), true},
		{"bad request", apierrors.NewBadRequest("no"), true},
		{"conflict", apierrors.NewConflict(gr, "wordcount", errors.New("busy")), false},
		{"throttled", apierrors.NewTooManyRequests("slow down", 1), false},
		{"server error", apierrors.NewInternalError(errors.New("etcd")), false},
		{"unavailable", apierrors.NewServiceUnavailable("starting"), false},
		{"timeout", apierrors.NewServerTimeout(gr, "apply", 1), false},
		{"network", context.DeadlineExceeded, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := classify(tt.err)
			if got := failure.IsPermanent(err); got != tt.permanent {
				t.Errorf("permanent = %v, want %v", got, tt.permanent)
			}
			if tt.permanent && failure.Reason(err) != messages.DeployReasonKubernetesRefused {
				t.Errorf("reason = %s, want %s", failure.Reason(err), messages.DeployReasonKubernetesRefused)
			}
		})
	}
}

// TestGiveUpTellsTheDeployFailed: a deploy given up after its retries is
// a deploy failed (retries_exhausted, the last error) on the status and
// control topics, as a permanent failure is, so an upgrade or restart
// whose new run it was ends instead of waiting for its deadline.
func TestGiveUpTellsTheDeployFailed(t *testing.T) {
	h := &Handler{Topics: bus.Config{TopicPrefix: "ff."}.Topics()}
	from := messages.JobRef{KubeCluster: "a", Namespace: "flink", ClusterID: "wc"}
	ev := &messages.ImageBuilt{RequestID: "r2", Job: messages.JobRef{Namespace: "flink", ClusterID: "wc"}, Mode: messages.ModeApplication, MovedFrom: &from}
	outs := h.GiveUp(context.Background(), ev, errors.New(`applying Service flink/wc-rest: failed to allocate a serviceIP: range is full`))
	if len(outs) != 1 {
		t.Fatalf("outs = %d, want 1", len(outs))
	}
	df, ok := outs[0].Event.(*messages.DeployFailed)
	if !ok || df.Reason != bus.ReasonRetriesExhausted || !strings.Contains(df.Message, "range is full") || df.RequestID != "r2" || df.MovedFrom == nil {
		t.Errorf("event = %#v, want a deploy failed retries_exhausted naming the error and the move", outs[0].Event)
	}
	if err := df.Validate(); err != nil {
		t.Errorf("deploy failed does not validate: %v", err)
	}
	if got := outs[0].Topics; len(got) != 2 || got[0] != h.Topics.Status || got[1] != h.Topics.Control {
		t.Errorf("topics = %v, want status and control", got)
	}
}
