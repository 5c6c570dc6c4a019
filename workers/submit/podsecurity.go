package submit

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/flinkferry/flinkferry/internal/admission"
	"github.com/flinkferry/flinkferry/internal/failure"
)

// checkPodSecurity checks the JobManager pod of the Deployment about to be
// applied, the merged template as Kubernetes will see it, against the
// namespace's Pod Security Standards level (defence in depth: admission
// checked the request's templates and options already).
func checkPodSecurity(level admission.Level, objs *Objects) error {
	if level == admission.Privileged || objs.Deployment == nil || objs.Deployment.Spec == nil || objs.Deployment.Spec.Template == nil {
		return nil
	}
	b, err := json.Marshal(objs.Deployment.Spec.Template)
	if err != nil {
		return fmt.Errorf("encoding the JobManager pod template: %w", err)
	}
	var tmpl corev1.PodTemplateSpec
	if err := json.Unmarshal(b, &tmpl); err != nil {
		return fmt.Errorf("decoding the JobManager pod template: %w", err)
	}
	if msg := admission.CheckPod(level, &corev1.Pod{ObjectMeta: tmpl.ObjectMeta, Spec: tmpl.Spec}); msg != "" {
		return failure.Permanentf(admission.ReasonPodSecurity, "JobManager Deployment: pod %s", msg)
	}
	return nil
}
