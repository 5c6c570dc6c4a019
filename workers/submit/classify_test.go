package submit

import (
	"context"
	"errors"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

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
