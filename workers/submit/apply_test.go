package submit

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/messages"
)

// TestApplyReportsTheFirstFailureAndWhatWasApplied: the owned objects are
// applied together; when the API server refuses some (a quota of zero
// Services), Apply returns the error of the first refused object in order,
// still classifiable, and the uids of those that were applied.
func TestApplyReportsTheFirstFailureAndWhatWasApplied(t *testing.T) {
	cs := kubetest.Shared(t).Clientset()
	ctx := context.Background()
	ns := "apply-quota"
	kubetest.CreateNamespace(t, cs, ns)
	quota := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "no-services"},
		Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourceServices: resource.MustParse("0")}},
	}
	quota, err := cs.CoreV1().ResourceQuotas(ns).Create(ctx, quota, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The admission plugin enforces the status, which the quota controller
	// would fill in; this control plane runs none.
	quota.Status = corev1.ResourceQuotaStatus{Hard: quota.Spec.Hard, Used: corev1.ResourceList{corev1.ResourceServices: resource.MustParse("0")}}
	if _, err := cs.CoreV1().ResourceQuotas(ns).UpdateStatus(ctx, quota, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	ev := imageBuilt(messages.ModeApplication, func(r *messages.SubmitRequested) {
		r.Job = messages.JobRef{Namespace: ns, ClusterID: "wordcount"}
	})
	applied, err := Apply(ctx, cs, build(t, ev))
	if err == nil {
		t.Fatal("Apply() succeeded despite a quota of zero Services")
	}
	if want := "applying Service apply-quota/wordcount-rest: "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Apply() error = %q, want it to start with %q", err, want)
	}
	if !apierrors.IsForbidden(err) {
		t.Errorf("Apply() error = %v, want a 403 the handler can classify", err)
	}
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, "wordcount", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, ConfigMapName("wordcount"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := Applied{"Deployment/wordcount": string(d.UID), "ConfigMap/" + cm.Name: string(cm.UID)}
	if len(applied) != len(want) {
		t.Errorf("Apply() applied %v, want %v", applied, want)
	}
	for k, v := range want {
		if applied[k] != v {
			t.Errorf("Apply() applied[%s] = %q, want %q", k, applied[k], v)
		}
	}
}
