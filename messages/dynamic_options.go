package messages

import (
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// maxDynamicOptions bounds flink.dynamic_options.
const maxDynamicOptions = 512

// reservedOptions are Flink options flinkferry sets itself: a user value
// would break the build, the deployment or the tracking.
var reservedOptions = []string{
	"execution.target",
	"execution.shutdown-on-application-finish",
	"execution.submit-failed-job-on-application-error",
	"kubernetes.cluster-id",
	"kubernetes.namespace",
	"kubernetes.container.image",
	"kubernetes.container.image.ref",
	"kubernetes.pod-template-file",
	"kubernetes.pod-template-file.default",
	"kubernetes.pod-template-file.jobmanager",
	"kubernetes.pod-template-file.taskmanager",
	"pipeline.jars",
}

// reservedOptionPrefix marks Flink's internal options ($internal.pipeline.job-id, ...).
const reservedOptionPrefix = "$internal."

// optionField maps a Flink option to the typed field of SubmitRequested that
// sets it. Giving both is a conflict.
type optionField struct {
	option string
	field  string
	set    func(r *SubmitRequested) bool
}

var optionFields = []optionField{
	{"parallelism.default", "flink.parallelism", func(r *SubmitRequested) bool { return r.Flink.Parallelism != 0 }},
	{"jobmanager.memory.process.size", "flink.jobmanager.memory", func(r *SubmitRequested) bool { return r.Flink.JobManager.Memory != "" }},
	{"kubernetes.jobmanager.cpu", "flink.jobmanager.cpu", func(r *SubmitRequested) bool { return r.Flink.JobManager.CPU != 0 }},
	{"kubernetes.jobmanager.cpu.amount", "flink.jobmanager.cpu", func(r *SubmitRequested) bool { return r.Flink.JobManager.CPU != 0 }},
	{"taskmanager.memory.process.size", "flink.taskmanager.memory", func(r *SubmitRequested) bool { return r.Flink.TaskManager.Memory != "" }},
	{"kubernetes.taskmanager.cpu", "flink.taskmanager.cpu", func(r *SubmitRequested) bool { return r.Flink.TaskManager.CPU != 0 }},
	{"kubernetes.taskmanager.cpu.amount", "flink.taskmanager.cpu", func(r *SubmitRequested) bool { return r.Flink.TaskManager.CPU != 0 }},
	{"taskmanager.numberOfTaskSlots", "flink.taskmanager.slots", func(r *SubmitRequested) bool { return r.Flink.TaskManager.Slots != 0 }},
	{"kubernetes.service-account", "kubernetes.service_account", func(r *SubmitRequested) bool { return r.Kubernetes.ServiceAccount != "" }},
	{"kubernetes.rest-service.exposed.type", "kubernetes.rest_exposed_type", func(r *SubmitRequested) bool { return r.Kubernetes.RestExposedType != "" }},
	{"execution.savepoint.path", "program.savepoint", hasSavepoint},
	{"execution.savepoint.ignore-unclaimed-state", "program.savepoint", hasSavepoint},
	{"execution.savepoint-restore-mode", "program.savepoint", hasSavepoint},
}

func hasSavepoint(r *SubmitRequested) bool { return r.Program != nil && r.Program.Savepoint != nil }

// splitDynamicOption splits "-Dkey=value" into key and value.
func splitDynamicOption(opt string) (key, value string, ok bool) {
	rest, found := strings.CutPrefix(opt, "-D")
	if !found {
		return "", "", false
	}
	return strings.Cut(rest, "=")
}

// checkDynamicOptions checks flink.dynamic_options: the -Dkey=value form,
// keys without blanks and unique, values on one line, no option flinkferry
// sets itself, no option that a typed field also sets.
func checkDynamicOptions(v *validator, p string, opts []string, r *SubmitRequested) {
	if len(opts) > maxDynamicOptions {
		v.addf(p, "must have at most %d entries, got %d", maxDynamicOptions, len(opts))
	}
	seen := map[string][]int{}
	for i, opt := range opts {
		ip := index(p, i)
		if !strings.HasPrefix(opt, "-D") {
			v.addf(ip, "must start with -D, as in -Dkey=value")
			continue
		}
		k, val, ok := splitDynamicOption(opt)
		switch {
		case !ok:
			v.addf(ip, "must be -Dkey=value: missing '='")
			continue
		case k == "":
			v.addf(ip, "empty key")
			continue
		case strings.IndexFunc(k, unicode.IsSpace) >= 0:
			v.addf(ip, "key %q contains whitespace", k)
			continue
		}
		if strings.ContainsAny(val, "\r\n") {
			v.addf(ip, "value of %s must not contain line breaks", k)
		}
		if slices.Contains(reservedOptions, k) || strings.HasPrefix(k, reservedOptionPrefix) {
			v.addf(ip, "%s is set by flinkferry and cannot be overridden", k)
		}
		for _, of := range optionFields {
			if of.option == k && of.set(r) {
				v.addf(ip, "%s conflicts with %s: set only one of them", k, of.field)
			}
		}
		seen[k] = append(seen[k], i)
	}
	for k, idx := range seen {
		if len(idx) < 2 {
			continue
		}
		for _, i := range idx {
			var others []string
			for _, j := range idx {
				if j != i {
					others = append(others, strconv.Itoa(j))
				}
			}
			v.addf(index(p, i), "duplicate key %s (also at index %s)", k, strings.Join(others, ", "))
		}
	}
}

// DynamicOptionsMap returns the dynamic options as key → value. It assumes
// a validated request (malformed entries are skipped; a later duplicate wins).
func (f FlinkOptions) DynamicOptionsMap() map[string]string {
	m := make(map[string]string, len(f.DynamicOptions))
	for _, opt := range f.DynamicOptions {
		if k, v, ok := splitDynamicOption(opt); ok {
			m[k] = v
		}
	}
	return m
}
