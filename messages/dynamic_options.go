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
	"high-availability.cluster-id",
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
// keys without blanks and unique, no control characters, no option
// flinkferry sets itself, no option that a typed field also sets. Only the
// first maxDynamicOptions entries are checked one by one (more is one
// problem), and a key given several times is one problem, so the report
// stays small whatever the request holds.
func checkDynamicOptions(v *validator, p string, opts []string, r *SubmitRequested) {
	if len(opts) > maxDynamicOptions {
		v.addf(p, "must have at most %d entries, got %d", maxDynamicOptions, len(opts))
		opts = opts[:maxDynamicOptions]
	}
	seen := map[string][]int{}
	var order []string
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
			v.addf(ip, "key %q contains whitespace", clip(k))
			continue
		case hasControl(k, false):
			v.addf(ip, "key %q contains a control character", clip(k))
			continue
		}
		switch {
		case strings.ContainsAny(val, "\r\n\u2028\u2029"):
			v.addf(ip, "value of %s must not contain line breaks", k)
		case hasControl(val, false):
			v.addf(ip, "value of %s must not contain control characters", k)
		case legacyConf(r.Flink.Version) && strings.ContainsAny(k+val, legacyConfUnsafe):
			v.addf(ip, "%s", legacyConfProblem)
		}
		if slices.Contains(reservedOptions, k) || strings.HasPrefix(k, reservedOptionPrefix) {
			v.addf(ip, "%s is set by flinkferry and cannot be overridden", k)
		}
		for _, of := range optionFields {
			if of.option == k && of.set(r) {
				v.addf(ip, "%s conflicts with %s: set only one of them", k, of.field)
			}
		}
		if _, ok := seen[k]; !ok {
			order = append(order, k)
		}
		seen[k] = append(seen[k], i)
	}
	for _, k := range order {
		idx := seen[k]
		if len(idx) < 2 {
			continue
		}
		v.addf(index(p, idx[1]), "duplicate key %s: given %d times (at index %s)", clip(k), len(idx), indexList(idx))
	}
}

// maxListedIndexes bounds the indexes a problem lists.
const maxListedIndexes = 8

// indexList writes "0, 3, 7" or "0, 1, ... 7 and 92 more".
func indexList(idx []int) string {
	var b strings.Builder
	for i, n := range idx {
		if i == maxListedIndexes {
			b.WriteString(" and " + strconv.Itoa(len(idx)-i) + " more")
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

// hasControl reports whether s holds a control character (C0, DEL, C1)
// other than tab, and other than line breaks when lines is true. Such a
// character in a Flink configuration value, a program argument or a label
// is at best lost, at worst an injection into config.yaml.
func hasControl(s string, lines bool) bool {
	return strings.IndexFunc(s, func(r rune) bool {
		if r == '\t' || (lines && (r == '\n' || r == '\r')) {
			return false
		}
		return unicode.IsControl(r)
	}) >= 0
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
