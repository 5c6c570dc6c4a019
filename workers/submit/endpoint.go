package submit

import (
	"context"

	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/messages"
)

// How the workers reach a JobManager's REST endpoint (ClusterConfig.RestAccess).
const (
	RestAccessAuto  = kubeclusters.RestAccessAuto
	RestAccessProxy = kubeclusters.RestAccessProxy
)

// RestEndpoint returns the base URL of the cluster's REST API (and Web UI)
// as seen by the workers, see kubeclusters.RestEndpoint.
func RestEndpoint(ctx context.Context, cl *Cluster, job messages.JobRef, exposed messages.RestExposedType) (string, error) {
	return kubeclusters.RestEndpoint(ctx, cl, job, exposed)
}
