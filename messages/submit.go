package messages

import (
	"crypto/sha256"
	"encoding/hex"

	"k8s.io/apimachinery/pkg/util/validation"
)

// SubmitRequested asks flinkferry to run a Flink job or session cluster on
// Kubernetes. Upstream producers write it to the Submit topic; the build
// worker consumes it. It is decoded strictly: unknown fields are rejected.
// RequestID is the idempotency key: sending the same request twice runs the
// job once.
type SubmitRequested struct {
	// RequestID identifies the request and makes it idempotent (StreamPark
	// has no equivalent: its application id is assigned by its database).
	// Required: 1 to 128 letters, digits,
	// '.', '_', ':' or '-'. It is copied to every event about the job.
	RequestID string `json:"request_id" jsonschema:"minLength=1,maxLength=128,pattern=^[A-Za-z0-9._:-]+$"`
	// Job names the Flink cluster: Kubernetes cluster, namespace
	// (kubernetes.namespace) and cluster id (kubernetes.cluster-id).
	Job JobRef `json:"job"`
	// Mode is the deployment mode (StreamPark "Execution Mode"):
	// application (execution.target kubernetes-application), session (a job
	// submitted over REST to an existing session cluster) or session-cluster
	// (deploy a session cluster, execution.target kubernetes-session).
	Mode Mode `json:"mode"`
	// SessionClusterID is the kubernetes.cluster-id of the session cluster
	// that runs the job (StreamPark "Kubernetes ClusterId" in session mode).
	// Required in mode
	// session, where it must differ from job.cluster_id; not allowed
	// otherwise. The cluster must be in the same namespace.
	SessionClusterID string `json:"session_cluster_id,omitempty" jsonschema:"maxLength=45,pattern=^[a-z]([-a-z0-9]*[a-z0-9])?$"`
	// Kubernetes holds the Kubernetes options of the cluster. Not allowed in
	// mode session: the session cluster owns them.
	Kubernetes KubernetesOptions `json:"kubernetes,omitzero"`
	// Flink holds the Flink version, image and configuration.
	Flink FlinkOptions `json:"flink"`
	// Program is the job to run. Required in modes application and
	// session; not allowed in mode session-cluster.
	Program *Program `json:"program,omitempty"`
	// Savepoints asks the track worker for periodic savepoints of the job
	// while it runs (modes application and session); absent: none.
	Savepoints *SavepointPolicy `json:"savepoints,omitempty"`
	// RestartPolicy asks the track worker to restart the job on its own
	// (modes application and session; absent: never): from its latest
	// completed checkpoint when Flink restarted it too often, or when no
	// checkpoint completed for too long while it runs.
	RestartPolicy *RestartPolicy `json:"restart_policy,omitempty"`
	// Upgrade says how this request replaces a run of the same job that
	// exists (application mode): absent means mode savepoint.
	Upgrade *UpgradeOptions `json:"upgrade,omitempty"`
	// Labels are user metadata (StreamPark "Tags", as key/value pairs),
	// copied to every event about the job and to the Kubernetes objects as
	// labels (Flink's kubernetes.jobmanager.labels and
	// kubernetes.taskmanager.labels). At most 32; Kubernetes label keys and
	// values; the keys app, component, type, configmap-type and
	// app.kubernetes.io/managed-by are reserved.
	Labels map[string]string `json:"labels,omitempty"`
}

// KubernetesOptions are the Kubernetes settings of a Flink cluster.
type KubernetesOptions struct {
	// ServiceAccount is Flink's kubernetes.service-account: the service
	// account of the JobManager and TaskManager pods, which needs rights on
	// pods and config maps. Empty means "default". A DNS-1123 subdomain.
	ServiceAccount string `json:"service_account,omitempty" jsonschema:"maxLength=253,pattern=^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"`
	// RestExposedType is Flink's kubernetes.rest-service.exposed.type
	// (StreamPark "Rest-Service Exposed Type"): ClusterIP (the default),
	// NodePort, LoadBalancer or Headless_ClusterIP.
	RestExposedType RestExposedType `json:"rest_exposed_type,omitempty"`
	// PodTemplate is the YAML of a Pod used as the base of the JobManager
	// and TaskManager pods, Flink's kubernetes.pod-template-file.default
	// (StreamPark "Kubernetes Pod Template"). At most 256 KiB; a mapping
	// whose kind, if given, is Pod. The main container must be named
	// flink-main-container.
	PodTemplate string `json:"pod_template,omitempty" jsonschema:"maxLength=262144"`
	// JobManagerPodTemplate is the pod template of the JobManager only,
	// Flink's kubernetes.pod-template-file.jobmanager (StreamPark "JM Pod
	// Template"). Same rules as PodTemplate.
	JobManagerPodTemplate string `json:"jobmanager_pod_template,omitempty" jsonschema:"maxLength=262144"`
	// TaskManagerPodTemplate is the pod template of the TaskManagers only,
	// Flink's kubernetes.pod-template-file.taskmanager (StreamPark "TM Pod
	// Template"). Same rules as PodTemplate.
	TaskManagerPodTemplate string `json:"taskmanager_pod_template,omitempty" jsonschema:"maxLength=262144"`
}

// FlinkOptions are the Flink settings of a cluster or job.
type FlinkOptions struct {
	// Version is the Flink version, MAJOR.MINOR (StreamPark "Flink
	// Version"): 1.17 to 1.20 or 2.x. Required. It picks the default base
	// image and the configuration file format (flink-conf.yaml or
	// config.yaml).
	Version string `json:"version" jsonschema:"pattern=^(1\\.(17|18|19|20)|2\\.(0|[1-9][0-9]*))$"`
	// BaseImage is the Flink image the job image is built on (StreamPark
	// "Flink Base Docker Image"), e.g. flink:1.20-java17. Empty means the
	// build worker's default for Version. An image reference (tag or
	// digest); the build worker resolves it to a digest. Not allowed in mode
	// session, where no image is built.
	BaseImage string `json:"base_image,omitempty" jsonschema:"maxLength=512"`
	// DynamicOptions are extra Flink configuration entries, each
	// "-Dkey=value" (StreamPark "Dynamic Option"), applied on top of the
	// configuration flinkferry writes. At most 512, keys unique and without
	// blanks, values on one line. Keys flinkferry sets itself
	// (execution.target, kubernetes.cluster-id, kubernetes.namespace,
	// kubernetes.container.image(.ref), pipeline.jars, $internal.*, ...) are
	// not allowed, and a key conflicts with the typed field that sets it
	// (parallelism.default with flink.parallelism, ...) when both are given.
	// In mode session they are sent as the job's flinkConfiguration.
	DynamicOptions []string `json:"dynamic_options,omitempty" jsonschema:"maxItems=512"`
	// Parallelism is Flink's parallelism.default (StreamPark "Parallelism"):
	// 1 to 32768; 0 or absent means Flink's default.
	Parallelism int `json:"parallelism,omitempty" jsonschema:"minimum=0,maximum=32768"`
	// JobManager sizes the JobManager. Not allowed in mode session.
	JobManager JobManagerResources `json:"jobmanager,omitzero"`
	// TaskManager sizes each TaskManager. Not allowed in mode session.
	TaskManager TaskManagerResources `json:"taskmanager,omitzero"`
}

// JobManagerResources size the JobManager pod.
type JobManagerResources struct {
	// Memory is Flink's jobmanager.memory.process.size (StreamPark "JM
	// Memory Options"), in Flink's memory syntax: 1600m, 2g, 1024mb, 2 gb. Empty
	// means Flink's default.
	Memory string `json:"memory,omitempty" jsonschema:"maxLength=32,pattern=^\\s*[0-9]+\\s*[A-Za-z]*\\s*$"`
	// CPU is Flink's kubernetes.jobmanager.cpu.amount: more than 0 and at
	// most 64 cores. 0 or absent means Flink's default, 1.0.
	CPU float64 `json:"cpu,omitempty" jsonschema:"minimum=0,maximum=64"`
}

// TaskManagerResources size each TaskManager pod.
type TaskManagerResources struct {
	// Memory is Flink's taskmanager.memory.process.size (StreamPark "TM
	// Memory Options"), in Flink's memory syntax: 1728m, 4g. Empty means Flink's
	// default.
	Memory string `json:"memory,omitempty" jsonschema:"maxLength=32,pattern=^\\s*[0-9]+\\s*[A-Za-z]*\\s*$"`
	// CPU is Flink's kubernetes.taskmanager.cpu.amount: more than 0 and at
	// most 64 cores. 0 or absent means Flink's default (the number of slots).
	CPU float64 `json:"cpu,omitempty" jsonschema:"minimum=0,maximum=64"`
	// Slots is Flink's taskmanager.numberOfTaskSlots (StreamPark "Task
	// Slots"): 1 to 1024; 0 or absent means Flink's default, 1.
	Slots int `json:"slots,omitempty" jsonschema:"minimum=0,maximum=1024"`
}

// Program is the Flink job: its jar, entry point, arguments and restore
// point.
type Program struct {
	// Jar locates the job's jar (StreamPark's uploaded program jar).
	Jar Jar `json:"jar"`
	// MainClass is the entry class (StreamPark "Program Main"), Flink's
	// $internal.application.main in application mode and entryClass of POST
	// /jars/{id}/run in session mode. A Java fully qualified class name of
	// ASCII letters, digits, '_' and '$'. Empty means the Main-Class of the
	// jar's manifest.
	MainClass string `json:"main_class,omitempty" jsonschema:"maxLength=1024,pattern=^([A-Za-z_$][A-Za-z0-9_$]*\\.)*[A-Za-z_$][A-Za-z0-9_$]*$"`
	// Args are the program arguments, Flink's
	// $internal.application.program-args in application mode and
	// programArgsList of POST /jars/{id}/run in session mode (StreamPark
	// "Program Args"). At most 1024, each at most 64 KiB.
	Args []string `json:"args,omitempty" jsonschema:"maxItems=1024,maxLength=65536"`
	// FlinkJobID is the Flink job id to use, Flink's $internal.pipeline.job-id
	// in application mode and jobId of POST /jars/{id}/run in session mode:
	// 32 lowercase hex characters. Empty means derived from request_id
	// (see SubmitRequested.FlinkJobID), so a retried submission never
	// starts a second job.
	FlinkJobID string `json:"flink_job_id,omitempty" jsonschema:"pattern=^[0-9a-f]{32}$"`
	// Savepoint restores the job from a savepoint or retained checkpoint.
	Savepoint *Savepoint `json:"savepoint,omitempty"`
}

// Jar locates a job's jar: exactly one of URL or Maven.
type Jar struct {
	// URL is an absolute http or https URL of the jar, at most 2048
	// characters, without credentials (the build worker holds them).
	URL string `json:"url,omitempty" jsonschema:"maxLength=2048,pattern=^[hH][tT][tT][pP][sS]?://"`
	// SHA256 is the expected sha256 of the jar, 64 lowercase hex
	// characters; the build worker refuses a jar that differs. Optional.
	SHA256 string `json:"sha256,omitempty" jsonschema:"pattern=^[0-9a-f]{64}$"`
	// Maven is a Maven coordinate group:artifact:version[:classifier],
	// written like StreamPark's Maven "Dependency" entries and resolved from
	// the repositories the build worker is configured with.
	Maven string `json:"maven,omitempty" jsonschema:"maxLength=512,pattern=^[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+:[A-Za-z0-9_.+-]+(:[A-Za-z0-9_.-]+)?$"`
}

// Savepoint says where and how to restore a job.
type Savepoint struct {
	// Path is Flink's execution.savepoint.path (StreamPark's "from
	// savepoint" on start):
	// the URI of a savepoint or retained checkpoint, with a scheme, e.g.
	// s3://bucket/savepoints/savepoint-1a2b3c-0123456789ab,
	// hdfs:///flink/savepoints/..., file:///mnt/savepoints/.... Required
	// when savepoint is given; at most 4096 characters.
	Path string `json:"path" jsonschema:"minLength=1,maxLength=4096,pattern=^[A-Za-z][A-Za-z0-9+.-]+:"`
	// AllowNonRestoredState is Flink's
	// execution.savepoint.ignore-unclaimed-state (StreamPark's "ignore
	// restored" option on start): start even if some savepoint state maps to
	// no operator.
	AllowNonRestoredState bool `json:"allow_non_restored_state,omitempty"`
	// RestoreMode is Flink's execution.savepoint-restore-mode: CLAIM,
	// NO_CLAIM (Flink's default) or LEGACY (not in Flink 2.x).
	RestoreMode RestoreMode `json:"restore_mode,omitempty"`
}

// EventType returns TypeSubmitRequested.
func (r *SubmitRequested) EventType() string { return TypeSubmitRequested }

// JobKey returns r.Job.Key().
func (r *SubmitRequested) JobKey() string { return r.Job.Key() }

func (r *SubmitRequested) requestID() string { return r.RequestID }

// FlinkJobID returns the Flink job id of the request: program.flink_job_id
// when given, else the first 16 bytes of sha256("flinkferry/" + request_id)
// in hex, so every worker derives the same id without talking to the
// others. It returns "" when there is no program (mode session-cluster).
func (r *SubmitRequested) FlinkJobID() string {
	if r.Program == nil {
		return ""
	}
	if r.Program.FlinkJobID != "" {
		return r.Program.FlinkJobID
	}
	sum := sha256.Sum256([]byte("flinkferry/" + r.RequestID))
	return hex.EncodeToString(sum[:16])
}

// SavepointPolicy asks for periodic savepoints of a running job: the track
// worker triggers one every IntervalSeconds after the run was deployed
// (as a savepoint operation with trigger "periodic" in the job's history,
// whose retention applies). A slot missed while another operation was in
// flight is taken when it ends; slots are never taken twice.
type SavepointPolicy struct {
	// IntervalSeconds is the period: 60 to 2592000 (30 days).
	IntervalSeconds int `json:"interval_seconds" jsonschema:"minimum=60,maximum=2592000"`
	// Directory and Format are the savepoints' (empty: the job's
	// state.savepoints.dir, CANONICAL).
	Directory string          `json:"directory,omitempty" jsonschema:"maxLength=4096"`
	Format    SavepointFormat `json:"format,omitempty"`
}

func (s *SavepointPolicy) validate(v *validator, p string, mode Mode) {
	if mode == ModeSessionCluster {
		v.addf(p, "not allowed in mode session-cluster: a session cluster runs no job of its own")
	}
	if s.IntervalSeconds < 60 || s.IntervalSeconds > 2592000 {
		v.addf(at(p, "interval_seconds"), "must be between 60 and 2592000 (30 days), got %d", s.IntervalSeconds)
	}
	if s.Directory != "" {
		checkStatePath(v, at(p, "directory"), s.Directory)
	}
	switch s.Format {
	case "", FormatCanonical, FormatNative:
	default:
		v.addf(at(p, "format"), "must be CANONICAL or NATIVE, got %q", clip(string(s.Format)))
	}
}

// RestartPolicy is when the track worker restarts a job on its own
// (docs/upgrades.md): a restart operation restoring from the latest
// completed checkpoint it recorded (else the latest savepoint of the
// job's history; never without state), with an automatic-restart reason
// in its status events. At least one trigger is required. A run that an
// automatic restart started is not restarted automatically again before
// the trigger's window (restarts) or age (checkpoints) has passed.
type RestartPolicy struct {
	// MaxRestarts and WindowSeconds go together: restart when Flink
	// restarted the job (its restart strategy, after a failure) more than
	// MaxRestarts times within WindowSeconds. The restarts are counted in
	// Flink's exception history, which keeps 16 entries by default
	// (web.exception-history-size), so MaxRestarts is 1 to 15;
	// WindowSeconds is 60 to 86400.
	MaxRestarts   int `json:"max_restarts,omitempty" jsonschema:"minimum=1,maximum=15"`
	WindowSeconds int `json:"window_seconds,omitempty" jsonschema:"minimum=60,maximum=86400"`
	// CheckpointAgeSeconds: restart when the job is RUNNING and no
	// checkpoint completed for this long (counted from the later of its
	// last completed checkpoint and the time it became RUNNING); 60 to
	// 604800 (7 days). Only for jobs that checkpoint.
	CheckpointAgeSeconds int `json:"checkpoint_age_seconds,omitempty" jsonschema:"minimum=60,maximum=604800"`
}

func (r *RestartPolicy) validate(v *validator, p string, mode Mode) {
	if mode == ModeSessionCluster {
		v.addf(p, "not allowed in mode session-cluster: a session cluster runs no job of its own")
	}
	switch {
	case r.MaxRestarts == 0 && r.WindowSeconds == 0 && r.CheckpointAgeSeconds == 0:
		v.addf(p, "needs max_restarts with window_seconds, or checkpoint_age_seconds")
	case (r.MaxRestarts == 0) != (r.WindowSeconds == 0):
		v.addf(p, "max_restarts and window_seconds go together")
	}
	if r.MaxRestarts != 0 && (r.MaxRestarts < 1 || r.MaxRestarts > 15) {
		v.addf(at(p, "max_restarts"), "must be between 1 and 15 (Flink's exception history keeps 16 restarts by default), got %d", r.MaxRestarts)
	}
	if r.WindowSeconds != 0 && (r.WindowSeconds < 60 || r.WindowSeconds > 86400) {
		v.addf(at(p, "window_seconds"), "must be between 60 and 86400 (one day), got %d", r.WindowSeconds)
	}
	if r.CheckpointAgeSeconds != 0 && (r.CheckpointAgeSeconds < 60 || r.CheckpointAgeSeconds > 604800) {
		v.addf(at(p, "checkpoint_age_seconds"), "must be between 60 and 604800 (7 days), got %d", r.CheckpointAgeSeconds)
	}
}

// UpgradeOptions say how a request replaces the job's current run
// (docs/upgrades.md).
type UpgradeOptions struct {
	// Mode is savepoint (the default: stop the running job with a savepoint
	// and restore the new run from it), last-state (cancel it and restore
	// from its latest completed checkpoint) or stateless (cancel it, start
	// without state).
	Mode UpgradeMode `json:"mode,omitempty"`
	// AllowFallback lets mode savepoint restore from the latest completed
	// checkpoint when the job is not running (no savepoint can be taken)
	// and its history has no savepoint.
	AllowFallback bool `json:"allow_fallback,omitempty"`
	// From makes the request a move (docs/upgrades.md, "Move between
	// clusters"): the job runs in another Kubernetes cluster or namespace
	// (or under another cluster id), and this request replaces it there,
	// restoring from a savepoint on storage both places reach. Each field
	// defaults to the request's job's. Only with mode savepoint.
	From *UpgradeFrom `json:"from,omitempty"`
}

// UpgradeFrom names where the job a move replaces runs; an empty field is
// the request's own.
type UpgradeFrom struct {
	KubeCluster string `json:"kube_cluster,omitempty" jsonschema:"maxLength=63,pattern=^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"`
	Namespace   string `json:"namespace,omitempty" jsonschema:"maxLength=63,pattern=^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"`
	ClusterID   string `json:"cluster_id,omitempty" jsonschema:"maxLength=45,pattern=^[a-z]([-a-z0-9]*[a-z0-9])?$"`
}

// Of is the job f names for a request for job: job with f's fields.
func (f UpgradeFrom) Of(job JobRef) JobRef {
	if f.KubeCluster != "" {
		job.KubeCluster = f.KubeCluster
	}
	if f.Namespace != "" {
		job.Namespace = f.Namespace
	}
	if f.ClusterID != "" {
		job.ClusterID = f.ClusterID
	}
	return job
}

// MovedFrom is the job r moves (upgrade.from), and whether it names
// another place than r's job.
func (r *SubmitRequested) MovedFrom() (JobRef, bool) {
	if r.Upgrade == nil || r.Upgrade.From == nil {
		return JobRef{}, false
	}
	from := r.Upgrade.From.Of(r.Job)
	return from, from.Key() != r.Job.Key()
}

// UpgradeMode is how an upgrade keeps the job's state.
type UpgradeMode string

// Upgrade modes.
const (
	UpgradeSavepoint UpgradeMode = "savepoint"
	UpgradeLastState UpgradeMode = "last-state"
	UpgradeStateless UpgradeMode = "stateless"
)

func (u *UpgradeOptions) validate(v *validator, p string, mode Mode) {
	switch {
	case mode != ModeApplication && u.From != nil:
		// docs/decisions.md, "Session jobs are not moved".
		v.addf(at(p, "from"), "only an application job is moved: a session job is not (submit it to the other session cluster, then cancel it here, restoring from a savepoint of its own)")
	case mode != ModeApplication:
		v.addf(p, "only in mode application")
	}
	switch u.Mode {
	case "", UpgradeSavepoint, UpgradeLastState, UpgradeStateless:
	default:
		v.addf(at(p, "mode"), "must be one of savepoint, last-state, stateless, got %q", clip(string(u.Mode)))
	}
	if f := u.From; f != nil {
		fp := at(p, "from")
		if *f == (UpgradeFrom{}) {
			v.addf(fp, "must name a kube_cluster, namespace or cluster_id")
		}
		if f.KubeCluster != "" {
			v.addAll(at(fp, "kube_cluster"), validation.IsDNS1123Label(f.KubeCluster))
		}
		if f.Namespace != "" {
			v.addAll(at(fp, "namespace"), validation.IsDNS1123Label(f.Namespace))
		}
		checkClusterID(v, at(fp, "cluster_id"), f.ClusterID, false)
		if u.Mode != "" && u.Mode != UpgradeSavepoint {
			v.addf(at(p, "mode"), "a move (upgrade.from) needs mode savepoint: the new place restores from a savepoint both places reach, got %q", clip(string(u.Mode)))
		}
	}
}
