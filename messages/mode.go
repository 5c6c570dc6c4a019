package messages

import "slices"

// Mode is how a job runs on Kubernetes, StreamPark's "Execution Mode".
type Mode string

const (
	// ModeApplication runs the job in its own Flink cluster in native
	// application mode (execution.target: kubernetes-application); the
	// cluster lives and dies with the job.
	ModeApplication Mode = "application"
	// ModeSession submits the job over REST to an existing native session
	// cluster, named by SubmitRequested.SessionClusterID.
	ModeSession Mode = "session"
	// ModeSessionCluster deploys a native session cluster
	// (execution.target: kubernetes-session) that runs no job of its own;
	// jobs in ModeSession are then submitted to it.
	ModeSessionCluster Mode = "session-cluster"
)

// Modes returns every Mode, in documentation order.
func Modes() []Mode {
	return []Mode{ModeApplication, ModeSession, ModeSessionCluster}
}

// IsKnown reports whether m is one of Modes.
func (m Mode) IsKnown() bool { return slices.Contains(Modes(), m) }

// RestExposedType is how the JobManager's REST service is exposed, Flink's
// kubernetes.rest-service.exposed.type (StreamPark "Rest-Service Exposed
// Type"). Empty means ClusterIP, Flink's default.
type RestExposedType string

const (
	// RestClusterIP: reachable inside the Kubernetes cluster only.
	RestClusterIP RestExposedType = "ClusterIP"
	// RestNodePort: reachable on every node's address at a node port.
	RestNodePort RestExposedType = "NodePort"
	// RestLoadBalancer: reachable through a cloud load balancer.
	RestLoadBalancer RestExposedType = "LoadBalancer"
	// RestHeadlessClusterIP: a headless service, resolving to the pod IP.
	RestHeadlessClusterIP RestExposedType = "Headless_ClusterIP"
)

// RestExposedTypes returns every RestExposedType.
func RestExposedTypes() []RestExposedType {
	return []RestExposedType{RestClusterIP, RestNodePort, RestLoadBalancer, RestHeadlessClusterIP}
}

// IsKnown reports whether t is one of RestExposedTypes.
func (t RestExposedType) IsKnown() bool { return slices.Contains(RestExposedTypes(), t) }

// RestoreMode is how a job restores from a savepoint, Flink's
// execution.savepoint-restore-mode. Empty means Flink's default, NO_CLAIM.
type RestoreMode string

const (
	// RestoreClaim: Flink takes ownership of the savepoint and may delete it.
	RestoreClaim RestoreMode = "CLAIM"
	// RestoreNoClaim: Flink never touches the savepoint; the first
	// checkpoint is a full one.
	RestoreNoClaim RestoreMode = "NO_CLAIM"
	// RestoreLegacy: the pre-1.15 behaviour; removed in Flink 2.0.
	RestoreLegacy RestoreMode = "LEGACY"
)

// RestoreModes returns every RestoreMode.
func RestoreModes() []RestoreMode {
	return []RestoreMode{RestoreClaim, RestoreNoClaim, RestoreLegacy}
}

// IsKnown reports whether m is one of RestoreModes.
func (m RestoreMode) IsKnown() bool { return slices.Contains(RestoreModes(), m) }
