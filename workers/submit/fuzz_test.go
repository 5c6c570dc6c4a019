package submit

import (
	"testing"

	"github.com/flinkferry/flinkferry/internal/admission"
	"github.com/flinkferry/flinkferry/messages"
)

// FuzzPodTemplateMerge builds the objects of a request with arbitrary pod
// templates: never a panic, an error is a permanent invalid_pod_template or
// an invalid configuration, and a built Deployment runs flinkferry's image
// as the first container under the service account flinkferry chose,
// whatever the template says.
func FuzzPodTemplateMerge(f *testing.F) {
	f.Add(podTemplate, tmTemplate, "flink")
	f.Add("spec:\n  serviceAccountName: cluster-admin\n  containers:\n  - name: sidecar\n  - name: flink-main-container\n    image: evil\n", "", "")
	f.Add("spec:\n  containers:\n  - name: app\n", "kind: Pod\n", "default")
	f.Add("a: &a [*a]", "{", "x")
	f.Fuzz(func(t *testing.T, shared, jm, sa string) {
		ev := imageBuilt(messages.ModeApplication, func(r *messages.SubmitRequested) {
			r.Kubernetes.PodTemplate = shared
			r.Kubernetes.JobManagerPodTemplate = jm
			r.Kubernetes.ServiceAccount = sa
		})
		if ev.Request.Validate() != nil {
			return // refused before any worker
		}
		objs, err := BuildObjects(ev, EffectiveConf(ev, ev.JarName, nil))
		if err != nil {
			return
		}
		spec := objs.Deployment.Spec.Template.Spec
		if len(spec.Containers) == 0 || *spec.Containers[0].Name != admission.MainContainer || *spec.Containers[0].Image != testImage {
			t.Fatalf("first container = %+v, want %s running %s", spec.Containers, admission.MainContainer, testImage)
		}
		want := sa
		if want == "" {
			want = "default"
		}
		if got := *spec.ServiceAccountName; got != want {
			t.Fatalf("serviceAccountName = %q, want %q", got, want)
		}
		if spec.DeprecatedServiceAccount != nil && *spec.DeprecatedServiceAccount != "" && *spec.DeprecatedServiceAccount != want {
			t.Fatalf("serviceAccount = %q, want %q or empty", *spec.DeprecatedServiceAccount, want)
		}
	})
}
