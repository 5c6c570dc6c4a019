package submit

import (
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/flinkferry/flinkferry/internal/admission"
	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/messages"
)

// parsePodTemplate parses a pod template and requires its main container,
// when it has containers, to be named flink-main-container (the same check
// as admission's, which refused such a request before anything was built).
func parsePodTemplate(field, text string) (*corev1.Pod, error) {
	pod, msg := admission.ParsePodTemplate(text)
	if msg != "" {
		return nil, failure.Permanentf(messages.DeployReasonInvalidPodTemplate, "%s: %s", field, msg)
	}
	return pod, nil
}

// mergePodTemplate merges the JobManager pod flinkferry generated (pod)
// into the user's template the way Flink does: the template is the base;
// image, pull policy, command, args, resources, service account and restart
// policy come from flinkferry; labels, annotations, env, ports, volume
// mounts and volumes are merged (flinkferry's win on equal names); node
// selector, tolerations, affinity, pull secrets, init containers and
// sidecars stay as the template has them.
func mergePodTemplate(tmpl *corev1.Pod, pod corev1.PodTemplateSpec) corev1.PodTemplateSpec {
	out := corev1.PodTemplateSpec{ObjectMeta: pod.ObjectMeta, Spec: *tmpl.Spec.DeepCopy()}
	out.Labels = mergeMaps(tmpl.Labels, pod.Labels)
	out.Annotations = mergeMaps(tmpl.Annotations, pod.Annotations)

	gen := pod.Spec.Containers[0]
	main := corev1.Container{}
	var sidecars []corev1.Container
	for _, c := range out.Spec.Containers {
		if c.Name == admission.MainContainer {
			main = c
		} else {
			sidecars = append(sidecars, c)
		}
	}
	main.Name, main.Image, main.ImagePullPolicy = gen.Name, gen.Image, gen.ImagePullPolicy
	main.Command, main.Args, main.Resources = gen.Command, gen.Args, gen.Resources
	main.Ports = mergeByName(main.Ports, gen.Ports, func(p corev1.ContainerPort) string { return p.Name })
	main.Env = mergeByName(main.Env, gen.Env, func(e corev1.EnvVar) string { return e.Name })
	main.VolumeMounts = mergeByName(main.VolumeMounts, gen.VolumeMounts, func(m corev1.VolumeMount) string { return m.Name })
	out.Spec.Containers = append([]corev1.Container{main}, sidecars...)
	out.Spec.Volumes = mergeByName(out.Spec.Volumes, pod.Spec.Volumes, func(v corev1.Volume) string { return v.Name })
	out.Spec.ServiceAccountName = pod.Spec.ServiceAccountName
	out.Spec.DeprecatedServiceAccount = ""
	out.Spec.RestartPolicy = pod.Spec.RestartPolicy
	return out
}

func mergeMaps(base, over map[string]string) map[string]string {
	if len(base) == 0 && len(over) == 0 {
		return nil
	}
	out := make(map[string]string, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

// mergeByName appends over to base, replacing base items of the same name.
func mergeByName[T any](base, over []T, name func(T) string) []T {
	out := slices.Clone(base)
	for _, o := range over {
		if i := slices.IndexFunc(out, func(b T) bool { return name(b) == name(o) }); i >= 0 {
			out[i] = o
		} else {
			out = append(out, o)
		}
	}
	return out
}

// jobManagerTemplate returns the template that applies to the JobManager:
// its own, else the shared one, else nil.
func jobManagerTemplate(k messages.KubernetesOptions) (string, string) {
	switch {
	case k.JobManagerPodTemplate != "":
		return "kubernetes.jobmanager_pod_template", k.JobManagerPodTemplate
	case k.PodTemplate != "":
		return "kubernetes.pod_template", k.PodTemplate
	}
	return "", ""
}
