package state

// Reason codes of decisions (Decision.Reason, Problem.Code). They are
// messages.JobStatusChanged reasons: snake_case, stable, documented in
// docs/tracking.md.
const (
	// DEPLOY_FAILED: a JobManager container cannot start.
	ReasonImagePullFailed      = "image_pull_failed"      // ErrImagePull, ImagePullBackOff, RegistryUnavailable, SignatureValidationFailed
	ReasonImageNotPresent      = "image_not_present"      // ErrImageNeverPull
	ReasonInvalidImageName     = "invalid_image_name"     // InvalidImageName
	ReasonImageInspectFailed   = "image_inspect_failed"   // ImageInspectError
	ReasonContainerConfigError = "container_config_error" // CreateContainerConfigError (missing Secret or ConfigMap, runAsNonRoot)
	ReasonContainerCreateError = "container_create_error" // CreateContainerError, PreCreateHookError
	ReasonContainerRunError    = "container_run_error"    // RunContainerError
	ReasonContainerHookFailed  = "container_hook_failed"  // PreStartHookError, PostStartHookError
	ReasonCrashLoop            = "crash_loop"             // CrashLoopBackOff from Config.CrashLoopRestarts restarts
	ReasonOOMKilled            = "oom_killed"             // CrashLoopBackOff whose last termination was OOMKilled
	ReasonReplicaFailure       = "replica_failure"        // Deployment condition ReplicaFailure (quota, admission)
	// DEPLOY_FAILED: nothing was deployed.
	ReasonDeploymentMissing     = "deployment_missing"      // no JobManager Deployment StartTimeout after submission
	ReasonSessionClusterMissing = "session_cluster_missing" // the same for a session job's session cluster

	// K8S_INITIALIZING: Kubernetes is still starting the JobManager.
	ReasonContainerCreating   = "container_creating"   // ContainerCreating (pulling the image, mounting volumes)
	ReasonPodInitializing     = "pod_initializing"     // PodInitializing (init containers running)
	ReasonContainerWaiting    = "container_waiting"    // any other waiting reason Kubernetes may add
	ReasonContainerRestarting = "container_restarting" // CrashLoopBackOff below Config.CrashLoopRestarts restarts
	ReasonPodUnschedulable    = "pod_unschedulable"    // PodScheduled=False, Unschedulable (the autoscaler may add a node)
	ReasonPodPending          = "pod_pending"          // Pending for another reason
	ReasonPodMissing          = "pod_missing"          // the Deployment has no pod yet
	ReasonPodEvicted          = "pod_evicted"          // only evicted pods left; the ReplicaSet replaces them
	ReasonPodFailed           = "pod_failed"           // only failed pods left; the ReplicaSet replaces them
	ReasonJobManagerNotReady  = "jobmanager_not_ready" // pod running, not Ready
	ReasonJobManagerStarting  = "jobmanager_starting"  // Ready, REST not answering yet
	ReasonDeployRecovered     = "deploy_recovered"     // left DEPLOY_FAILED: the JobManager became ready

	// K8S_INITIALIZING, SILENT, LOST: REST gives no news of the job.
	ReasonJobNotListed     = "job_not_listed"     // the JobManager answers, the job is not in /jobs/overview
	ReasonRESTUnreachable  = "rest_unreachable"   // refused, reset, timeout, 5xx, undecodable
	ReasonRESTInvalidState = "rest_invalid_state" // the job's state is not a Flink state
	ReasonScaledToZero     = "scaled_to_zero"     // the Deployment has 0 replicas

	// TERMINATED.
	ReasonDeploymentDeleted     = "deployment_deleted"      // the JobManager Deployment is gone
	ReasonSessionClusterDeleted = "session_cluster_deleted" // a session job's session cluster is gone
)

// kubeReasons maps Kubernetes' waiting reasons (kubelet's constants) to
// reason codes; fatal ones make the JobManager DEPLOY_FAILED. A reason
// missing here is ReasonContainerWaiting, not fatal: an unknown reason
// never fails a job.
var kubeReasons = map[string]struct {
	code  string
	fatal bool
}{
	"ErrImagePull":               {ReasonImagePullFailed, true},
	"ImagePullBackOff":           {ReasonImagePullFailed, true},
	"RegistryUnavailable":        {ReasonImagePullFailed, true},
	"SignatureValidationFailed":  {ReasonImagePullFailed, true},
	"ErrImageNeverPull":          {ReasonImageNotPresent, true},
	"InvalidImageName":           {ReasonInvalidImageName, true},
	"ImageInspectError":          {ReasonImageInspectFailed, true},
	"CreateContainerConfigError": {ReasonContainerConfigError, true},
	"CreateContainerError":       {ReasonContainerCreateError, true},
	"PreCreateHookError":         {ReasonContainerCreateError, true},
	"RunContainerError":          {ReasonContainerRunError, true},
	"PreStartHookError":          {ReasonContainerHookFailed, true},
	"PostStartHookError":         {ReasonContainerHookFailed, true},
	"CrashLoopBackOff":           {ReasonCrashLoop, true}, // counted from Config.CrashLoopRestarts
	"ContainerCreating":          {ReasonContainerCreating, false},
	"PodInitializing":            {ReasonPodInitializing, false},
}
