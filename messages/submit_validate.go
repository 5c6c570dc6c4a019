package messages

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Limits of SubmitRequested.
const (
	maxParallelism     = 32768
	maxCPU             = 64
	maxSlots           = 1024
	maxArgs            = 1024
	maxArgBytes        = 64 << 10
	maxMainClassLength = 1024
	maxSavepointPath   = 4096
	maxMavenLength     = 512
	maxBaseImageLength = 512
)

var (
	flinkVersionRegexp = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$`)
	mainClassRegexp    = regexp.MustCompile(`^([A-Za-z_$][A-Za-z0-9_$]*\.)*[A-Za-z_$][A-Za-z0-9_$]*$`)
	mavenRegexp        = regexp.MustCompile(`^[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+:[A-Za-z0-9_.+-]+(:[A-Za-z0-9_.-]+)?$`)
	uriSchemeRegexp    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]+$`)
)

// Validate checks every field of the request and returns nil or a
// FieldErrors listing every problem, sorted by field.
func (r *SubmitRequested) Validate() error {
	var v validator
	r.validate(&v, "")
	return v.result()
}

// validate checks the request at path p ("" at the top, "request" inside
// ImageBuilt).
func (r *SubmitRequested) validate(v *validator, p string) {
	checkRequestID(v, at(p, "request_id"), r.RequestID)
	r.Job.validate(v, at(p, "job"))
	checkMode(v, at(p, "mode"), r.Mode)

	scp := at(p, "session_cluster_id")
	switch {
	case r.Mode == ModeSession:
		checkClusterID(v, scp, r.SessionClusterID, true)
		if r.SessionClusterID != "" && r.SessionClusterID == r.Job.ClusterID {
			v.addf(scp, "must differ from job.cluster_id, which names the job in mode session")
		}
	case r.SessionClusterID != "":
		v.addf(scp, "not allowed unless mode is session")
	}

	r.Kubernetes.validate(v, at(p, "kubernetes"), r.Mode)
	r.Flink.validate(v, at(p, "flink"), r)

	pp := at(p, "program")
	switch {
	case r.Program == nil && (r.Mode == ModeApplication || r.Mode == ModeSession):
		v.addf(pp, "required in mode %s", r.Mode)
	case r.Program != nil && r.Mode == ModeSessionCluster:
		v.addf(pp, "not allowed in mode session-cluster: a session cluster runs no job of its own")
	case r.Program != nil:
		r.Program.validate(v, pp, r.Flink.Version)
	}

	if r.Savepoints != nil {
		r.Savepoints.validate(v, at(p, "savepoints"), r.Mode)
	}
	if r.RestartPolicy != nil {
		r.RestartPolicy.validate(v, at(p, "restart_policy"), r.Mode)
	}
	if r.Upgrade != nil {
		r.Upgrade.validate(v, at(p, "upgrade"), r.Mode)
	}
	checkLabels(v, at(p, "labels"), r.Labels)
}

// ownedBySession is the reason for options that a session cluster owns.
const ownedBySession = "not allowed in mode session: the session cluster owns it"

func (k KubernetesOptions) validate(v *validator, p string, mode Mode) {
	if mode == ModeSession {
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"service_account", k.ServiceAccount != ""},
			{"rest_exposed_type", k.RestExposedType != ""},
			{"pod_template", k.PodTemplate != ""},
			{"jobmanager_pod_template", k.JobManagerPodTemplate != ""},
			{"taskmanager_pod_template", k.TaskManagerPodTemplate != ""},
		} {
			if f.set {
				v.addf(at(p, f.name), ownedBySession)
			}
		}
		return
	}
	if k.ServiceAccount != "" {
		v.addAll(at(p, "service_account"), validation.IsDNS1123Subdomain(k.ServiceAccount))
	}
	if k.RestExposedType != "" && !k.RestExposedType.IsKnown() {
		v.addf(at(p, "rest_exposed_type"), "must be one of ClusterIP, NodePort, LoadBalancer, Headless_ClusterIP, got %q", k.RestExposedType)
	}
	checkPodTemplate(v, at(p, "pod_template"), k.PodTemplate)
	checkPodTemplate(v, at(p, "jobmanager_pod_template"), k.JobManagerPodTemplate)
	checkPodTemplate(v, at(p, "taskmanager_pod_template"), k.TaskManagerPodTemplate)
}

func (f FlinkOptions) validate(v *validator, p string, r *SubmitRequested) {
	checkFlinkVersion(v, at(p, "version"), f.Version)

	bp := at(p, "base_image")
	switch {
	case f.BaseImage == "":
	case r.Mode == ModeSession:
		v.addf(bp, "not allowed in mode session: no image is built, the job runs on the session cluster's")
	case len(f.BaseImage) > maxBaseImageLength:
		v.addf(bp, "must be at most %d characters, got %d", maxBaseImageLength, len(f.BaseImage))
	default:
		checkImageRef(v, bp, f.BaseImage)
	}

	checkDynamicOptions(v, at(p, "dynamic_options"), f.DynamicOptions, r)

	if f.Parallelism < 0 || f.Parallelism > maxParallelism {
		v.addf(at(p, "parallelism"), "must be between 1 and %d, or 0 for Flink's default, got %d", maxParallelism, f.Parallelism)
	}

	jp, tp := at(p, "jobmanager"), at(p, "taskmanager")
	if r.Mode == ModeSession {
		if f.JobManager != (JobManagerResources{}) {
			v.addf(jp, ownedBySession)
		}
		if f.TaskManager != (TaskManagerResources{}) {
			v.addf(tp, ownedBySession)
		}
		return
	}
	checkMemory(v, at(jp, "memory"), f.JobManager.Memory)
	checkCPU(v, at(jp, "cpu"), f.JobManager.CPU)
	checkMemory(v, at(tp, "memory"), f.TaskManager.Memory)
	checkCPU(v, at(tp, "cpu"), f.TaskManager.CPU)
	if f.TaskManager.Slots < 0 || f.TaskManager.Slots > maxSlots {
		v.addf(at(tp, "slots"), "must be between 1 and %d, or 0 for Flink's default, got %d", maxSlots, f.TaskManager.Slots)
	}
}

// checkFlinkVersion checks a MAJOR.MINOR Flink version: 1.17 to 1.20 or 2.x.
func checkFlinkVersion(v *validator, p, version string) {
	if version == "" {
		v.addf(p, "required")
		return
	}
	m := flinkVersionRegexp.FindStringSubmatch(version)
	if m == nil {
		v.addf(p, "must be MAJOR.MINOR, e.g. 1.20 or 2.1, got %q", version)
		return
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	if (major == 1 && minor >= 17 && minor <= 20) || major == 2 {
		return
	}
	v.addf(p, "unsupported Flink version %s: supported are 1.17 to 1.20 and 2.x", version)
}

// flinkMajor returns the major version of a valid Flink version, 0 if none.
// legacyConfUnsafe are the characters flink-conf.yaml, which Flink before
// 1.19 reads, cannot carry: its loader reads line by line and drops the
// rest of a line from '#' on, quoted or not.
const legacyConfUnsafe = "#\n\r"

const legacyConfProblem = "Flink before 1.19 reads flink-conf.yaml, which cannot carry '#' or line breaks (the rest of the line is dropped): use Flink 1.19 or later"

// legacyConf reports whether Flink version reads flink-conf.yaml (1.17,
// 1.18) rather than config.yaml.
func legacyConf(version string) bool {
	m := flinkVersionRegexp.FindStringSubmatch(version)
	if m == nil {
		return false
	}
	minor, _ := strconv.Atoi(m[2])
	return m[1] == "1" && minor < 19
}

func flinkMajor(version string) int {
	m := flinkVersionRegexp.FindStringSubmatch(version)
	if m == nil {
		return 0
	}
	major, _ := strconv.Atoi(m[1])
	return major
}

func checkMemory(v *validator, p, mem string) {
	if mem == "" {
		return
	}
	n, err := parseFlinkMemory(mem)
	switch {
	case err != nil:
		v.addf(p, "%s", err)
	case n == 0:
		v.addf(p, "must be more than 0")
	}
}

func checkCPU(v *validator, p string, cpu float64) {
	if cpu < 0 || cpu > maxCPU {
		v.addf(p, "must be more than 0 and at most %d, or 0 for Flink's default, got %s", maxCPU, strconv.FormatFloat(cpu, 'g', -1, 64))
	}
}

func (prog *Program) validate(v *validator, p, flinkVersion string) {
	prog.Jar.validate(v, at(p, "jar"))

	mp := at(p, "main_class")
	switch {
	case prog.MainClass == "":
	case len(prog.MainClass) > maxMainClassLength:
		v.addf(mp, "must be at most %d characters, got %d", maxMainClassLength, len(prog.MainClass))
	case !mainClassRegexp.MatchString(prog.MainClass):
		v.addf(mp, "must be a fully qualified Java class name such as com.example.WordCount")
	}

	ap := at(p, "args")
	if len(prog.Args) > maxArgs {
		v.addf(ap, "must have at most %d entries, got %d", maxArgs, len(prog.Args))
	}
	args := prog.Args
	if len(args) > maxArgs {
		args = args[:maxArgs]
	}
	for i, a := range args {
		switch {
		case len(a) > maxArgBytes:
			v.addf(index(ap, i), "must be at most %d bytes, got %d", maxArgBytes, len(a))
		case hasControl(a, true):
			v.addf(index(ap, i), "must not contain control characters other than tab and line breaks")
		case legacyConf(flinkVersion) && strings.ContainsAny(a, legacyConfUnsafe):
			v.addf(index(ap, i), "%s", legacyConfProblem)
		}
	}

	checkFlinkJobID(v, at(p, "flink_job_id"), prog.FlinkJobID)

	if prog.Savepoint != nil {
		prog.Savepoint.validate(v, at(p, "savepoint"), flinkVersion)
	}
}

func (j Jar) validate(v *validator, p string) {
	switch {
	case j.URL != "" && j.Maven != "":
		v.addf(p, "set only one of url and maven")
	case j.URL == "" && j.Maven == "":
		v.addf(p, "required: set url or maven")
	}
	checkHTTPURL(v, at(p, "url"), j.URL, maxURLLength)
	mp := at(p, "maven")
	switch {
	case j.Maven == "":
	case len(j.Maven) > maxMavenLength:
		v.addf(mp, "must be at most %d characters, got %d", maxMavenLength, len(j.Maven))
	case !mavenRegexp.MatchString(j.Maven):
		v.addf(mp, "must be a Maven coordinate group:artifact:version[:classifier]")
	}
	checkSHA256(v, at(p, "sha256"), j.SHA256, false)
}

func (s *Savepoint) validate(v *validator, p, flinkVersion string) {
	if s.Path == "" {
		v.addf(at(p, "path"), "required")
	} else {
		checkStatePath(v, at(p, "path"), s.Path)
	}
	rp := at(p, "restore_mode")
	switch {
	case s.RestoreMode == "":
	case !s.RestoreMode.IsKnown():
		v.addf(rp, "must be one of CLAIM, NO_CLAIM, LEGACY, got %q", s.RestoreMode)
	case s.RestoreMode == RestoreLegacy && flinkMajor(flinkVersion) >= 2:
		v.addf(rp, "LEGACY was removed in Flink 2.0: use CLAIM or NO_CLAIM")
	}
}

// checkStatePath checks a savepoint, checkpoint or directory URI: at most
// 4096 characters, no control characters, a scheme and a path.
func checkStatePath(v *validator, p, path string) {
	switch {
	case len(path) > maxSavepointPath:
		v.addf(p, "must be at most %d characters, got %d", maxSavepointPath, len(path))
	case hasControl(path, false) || strings.ContainsAny(path, "\u2028\u2029"):
		v.addf(p, "must not contain control characters")
	default:
		u, err := url.Parse(path)
		if err != nil || !uriSchemeRegexp.MatchString(u.Scheme) || (u.Host == "" && strings.Trim(u.Path, "/") == "" && u.Opaque == "") {
			v.addf(p, "must be a URI with a scheme, e.g. s3://bucket/savepoints/savepoint-1 or file:///mnt/savepoints/savepoint-1")
		}
	}
}
