package admission

import (
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/yaml"

	"github.com/flinkferry/flinkferry/messages"
)

// MainContainer is the name Flink gives the container that runs Flink in
// a pod template.
const MainContainer = "flink-main-container"

// template is one pod template of a request, with its field path.
type template struct {
	field, text string
}

// templates returns the request's non-empty pod templates.
func templates(k messages.KubernetesOptions) []template {
	var out []template
	for _, t := range []template{
		{"kubernetes.pod_template", k.PodTemplate},
		{"kubernetes.jobmanager_pod_template", k.JobManagerPodTemplate},
		{"kubernetes.taskmanager_pod_template", k.TaskManagerPodTemplate},
	} {
		if t.text != "" {
			out = append(out, t)
		}
	}
	return out
}

// parsePod parses a pod template as Kubernetes and Flink do (unknown
// fields ignored).
func parsePod(text string) (*corev1.Pod, error) {
	var pod corev1.Pod
	if err := yaml.Unmarshal([]byte(text), &pod); err != nil {
		return nil, err
	}
	return &pod, nil
}

// ParsePodTemplate parses the pod template at field and requires its main
// container, when it lists containers, to be named flink-main-container.
// The error is a message for that field.
func ParsePodTemplate(text string) (*corev1.Pod, string) {
	pod, err := parsePod(text)
	if err != nil {
		return nil, "is not a valid Pod: " + oneLine(err.Error())
	}
	if len(pod.Spec.Containers) > 0 && !slices.ContainsFunc(pod.Spec.Containers, func(c corev1.Container) bool { return c.Name == MainContainer }) {
		names := make([]string, 0, len(pod.Spec.Containers))
		for _, c := range pod.Spec.Containers {
			names = append(names, c.Name)
		}
		return nil, "the main container must be named " + MainContainer + " (found " + strings.Join(names, ", ") + ")"
	}
	return pod, ""
}

// rolePod is a pod Flink will create for the request, as far as its
// security is concerned.
type rolePod struct {
	// field is the template the pod comes from ("" when none).
	field string
	role  string
	pod   *corev1.Pod
}

// effectivePods returns the JobManager and TaskManager pods of the
// request as Flink will create them, as far as Pod Security is concerned:
// the role's template (else the shared one, else an empty pod), the main
// container Flink adds when the template has none, and the dynamic options
// that change pod shape (kubernetes.hostnetwork.enabled, the
// kubernetes.{jobmanager,taskmanager}.annotations). Invalid templates are
// refused as invalid_pod_template. A session job has no pods of its own.
func effectivePods(c *refusal, req *messages.SubmitRequested, opts options) []rolePod {
	parsed := map[string]*corev1.Pod{}
	for _, t := range templates(req.Kubernetes) {
		pod, msg := ParsePodTemplate(t.text)
		if msg != "" {
			c.add(t.field, messages.DeployReasonInvalidPodTemplate, "%s", msg)
			continue
		}
		parsed[t.field] = pod
	}
	if req.Mode == messages.ModeSession {
		return nil
	}
	hostNetwork := false
	if o, ok := opts.get("kubernetes.hostnetwork.enabled"); ok && strings.EqualFold(o.value, "true") {
		hostNetwork = true
	}
	var out []rolePod
	for _, role := range []struct{ name, own, annotations string }{
		{"JobManager", "kubernetes.jobmanager_pod_template", "kubernetes.jobmanager.annotations"},
		{"TaskManager", "kubernetes.taskmanager_pod_template", "kubernetes.taskmanager.annotations"},
	} {
		field, pod := role.own, parsed[role.own]
		if pod == nil && req.Kubernetes.PodTemplate != "" {
			field, pod = "kubernetes.pod_template", parsed["kubernetes.pod_template"]
		}
		if pod == nil {
			if ownText(req.Kubernetes, role.own) != "" || req.Kubernetes.PodTemplate != "" {
				continue // invalid template, already refused
			}
			field, pod = "", &corev1.Pod{}
		} else {
			pod = pod.DeepCopy()
		}
		if hostNetwork {
			pod.Spec.HostNetwork = true
		}
		if o, ok := opts.get(role.annotations); ok {
			if pod.Annotations == nil {
				pod.Annotations = map[string]string{}
			}
			for k, v := range mapValue(o.value) {
				pod.Annotations[k] = v
			}
		}
		if !slices.ContainsFunc(pod.Spec.Containers, func(c corev1.Container) bool { return c.Name == MainContainer }) {
			pod.Spec.Containers = append([]corev1.Container{{Name: MainContainer}}, pod.Spec.Containers...)
		}
		out = append(out, rolePod{field: field, role: role.name, pod: pod})
	}
	return out
}

func ownText(k messages.KubernetesOptions, field string) string {
	if field == "kubernetes.jobmanager_pod_template" {
		return k.JobManagerPodTemplate
	}
	return k.TaskManagerPodTemplate
}

var evaluator = sync.OnceValues(func() (policy.Evaluator, error) {
	return policy.NewEvaluator(policy.DefaultChecks(), nil)
})

// CheckPod checks a pod against a Pod Security Standards level (latest
// version) and returns Kubernetes' message for a violation, e.g.
// `violates PodSecurity "baseline:latest": host namespaces
// (hostNetwork=true)`, or "" when the pod is allowed.
func CheckPod(level Level, meta *corev1.Pod) string {
	ev, err := evaluator()
	if err != nil {
		return "pod security checks unavailable: " + err.Error()
	}
	lv := psapi.LevelVersion{Level: psapi.Level(level), Version: psapi.LatestVersion()}
	agg := policy.AggregateCheckResults(ev.EvaluatePod(lv, &meta.ObjectMeta, &meta.Spec))
	if agg.Allowed {
		return ""
	}
	return "violates PodSecurity \"" + lv.String() + "\": " + agg.ForbiddenDetail()
}

// checkPodSecurity refuses pods that violate the namespace's level, naming
// the template (or the dynamic options) that makes them so.
func checkPodSecurity(c *refusal, level Level, pods []rolePod) {
	if level == Privileged {
		return
	}
	seen := map[string]bool{}
	for _, rp := range pods {
		msg := CheckPod(level, rp.pod)
		if msg == "" {
			continue
		}
		field := rp.field
		if field == "" {
			field = "flink.dynamic_options"
		}
		key := field + "\x00" + msg
		if seen[key] {
			continue // the shared template refused once, not per role
		}
		seen[key] = true
		c.add(field, ReasonPodSecurity, "%s pod %s", rp.role, msg)
	}
}

// oneLine collapses whitespace, so an error from another library stays on
// one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
