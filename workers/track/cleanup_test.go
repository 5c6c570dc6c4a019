package track

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"

	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/submit"
)

var cleanNamespaces atomic.Int64

// cleanNamespace names a new namespace on the shared control plane: unique,
// so that the tests can run again (-count) against the same API server.
func cleanNamespace(base string) string {
	return base + "-" + strconv.FormatInt(cleanNamespaces.Add(1), 10)
}

// applyAppCluster applies, with the submit worker's own code, the objects of
// an application cluster with Kubernetes HA and a TaskManager pod template
// (Deployment, flink-config and pod-template ConfigMaps, rest Service), then
// adds what Flink itself would create: two HA ConfigMaps (not owned) and a
// TaskManager pod owned by the Deployment. It returns the Deployment and the
// number of objects created.
func applyAppCluster(t *testing.T, cs kubernetes.Interface, ns, id string) (*appsv1.Deployment, int) {
	t.Helper()
	ctx := context.Background()
	job := messages.JobRef{Namespace: ns, ClusterID: id}
	req := messages.SubmitRequested{
		RequestID: "req-" + id, Job: job, Mode: messages.ModeApplication,
		Flink: messages.FlinkOptions{Version: "1.20", DynamicOptions: []string{
			"-Dhigh-availability.type=kubernetes", "-Dhigh-availability.storageDir=s3://ha/" + id,
		}},
		Program: &messages.Program{Jar: messages.Jar{URL: "https://artifacts.example.com/" + id + ".jar"}, MainClass: "org.example.Main"},
	}
	req.Kubernetes.TaskManagerPodTemplate = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: flink-main-container\n"
	ev := &messages.ImageBuilt{
		RequestID: req.RequestID, Job: job, Mode: req.Mode, JarName: id + ".jar", Request: req,
		Image: "registry.example.com/flinkferry/" + id + "@sha256:" + strings.Repeat("0", 64),
	}
	objs, err := submit.BuildObjects(ev, submit.EffectiveConf(ev, ev.JarName, nil))
	if err != nil {
		t.Fatal(err)
	}
	applied, err := submit.Apply(ctx, cs, objs)
	if err != nil {
		t.Fatal(err)
	}
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, id, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{id + "-cluster-config-map", id + "-00000000000000000000000000000001-config-map"} {
		createHAConfigMap(t, cs, ns, name, map[string]string{labelApp: id, labelType: labelTypeValue, labelConfigMapType: configMapTypeHA})
	}
	// Pods use the namespace's "default" ServiceAccount, which only the
	// controller-manager creates.
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns}}
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	yes := true
	tm := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: id + "-taskmanager-1-1", Namespace: ns,
			Labels: map[string]string{labelApp: id, labelType: labelTypeValue, labelComponent: "taskmanager"},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name, UID: d.UID,
				Controller: &yes, BlockOwnerDeletion: &yes,
			}},
		},
		// Scheduled: deleting it is graceful, it stays (terminating) until
		// the kubelet confirms, see waitNothingLeft.
		Spec: corev1.PodSpec{NodeName: kubetest.NodeName, RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{
			Name: "flink-main-container", Image: ev.Image,
		}}},
	}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, tm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return d, len(applied) + 3
}

func createHAConfigMap(t *testing.T, cs kubernetes.Interface, ns, name string, labels map[string]string) {
	t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}}
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitNothingLeft polls objectsLeft until it reports 0. Meanwhile it does
// what the kubelet would: pods being deleted are removed for good.
func waitNothingLeft(t *testing.T, cs kubernetes.Interface, ns, id string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if err := kubetest.FinishPodDeletions(context.Background(), cs, ns); err != nil {
			t.Fatal(err)
		}
		n, err := objectsLeft(context.Background(), cs, ns, id)
		if err == nil && n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("objectsLeft(%s, %s) = %d, %v after %s, want 0", ns, id, n, err, within)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func mustObjectsLeft(t *testing.T, cs kubernetes.Interface, ns, id string) int {
	t.Helper()
	n, err := objectsLeft(context.Background(), cs, ns, id)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCleanClusterRemovesAnApplicationCluster: with the garbage collector
// and the Deployment and ReplicaSet controllers of a real
// controller-manager, nothing with the cluster's labels is left, HA
// ConfigMaps included; unrelated objects survive; a second call is harmless.
func TestCleanClusterRemovesAnApplicationCluster(t *testing.T) {
	cp := kubetest.Start(t, kubetest.Options{ControllerManager: true})
	cs := cp.Clientset()
	ctx := context.Background()
	ns, other, id := "clean", "clean-other", "wordcount"
	kubetest.CreateNamespace(t, cs, ns)
	kubetest.CreateNamespace(t, cs, other)
	_, created := applyAppCluster(t, cs, ns, id)
	// The same cluster id in another namespace, and a ConfigMap of someone
	// else's "app=wordcount" without Flink's type label.
	flinkCluster(t, cs, other, id, strings.Repeat("a", 32))
	createHAConfigMap(t, cs, ns, "wordcount-settings", map[string]string{labelApp: id})

	// The ReplicaSet controller creates the JobManager pods (Pending: no
	// scheduler); they carry the cluster's labels and count too.
	waitJobManagerPod(t, cs, ns)
	waitJobManagerPod(t, cs, other)
	if got, want := mustObjectsLeft(t, cs, ns, id), created+1; got != want {
		t.Fatalf("objectsLeft() before cleanup = %d, want %d (each HA ConfigMap once)", got, want)
	}

	if err := cleanCluster(ctx, cs, ns, id); err != nil {
		t.Fatalf("cleanCluster() = %v", err)
	}
	if err := cleanCluster(ctx, cs, ns, id); err != nil {
		t.Fatalf("cleanCluster() again while the garbage collector works = %v", err)
	}
	waitNothingLeft(t, cs, ns, id, 20*time.Second)
	if err := cleanCluster(ctx, cs, ns, id); err != nil {
		t.Fatalf("cleanCluster() once everything is gone = %v", err)
	}

	if _, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "wordcount-settings", metav1.GetOptions{}); err != nil {
		t.Errorf("the ConfigMap without Flink's type label: %v, want kept", err)
	}
	if _, err := cs.AppsV1().Deployments(other).Get(ctx, id, metav1.GetOptions{}); err != nil {
		t.Errorf("the cluster of the same id in namespace %s: %v, want kept", other, err)
	}
	if got, want := mustObjectsLeft(t, cs, other, id), 2; got != want {
		t.Errorf("objectsLeft() in namespace %s = %d, want %d (Deployment and JobManager pod)", other, got, want)
	}
}

// waitJobManagerPod waits until the ReplicaSet controller created the one
// JobManager pod of namespace ns.
func waitJobManagerPod(t *testing.T, cs kubernetes.Interface, ns string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		pods, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: labelComponent + "=" + componentJM})
		if err != nil {
			t.Fatal(err)
		}
		if len(pods.Items) == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("JobManager pods in %s = %d, want 1", ns, len(pods.Items))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestCleanClusterWithoutGarbageCollector: without a garbage collector (no
// controller-manager), the label selectors still remove everything,
// owned objects included.
func TestCleanClusterWithoutGarbageCollector(t *testing.T) {
	cs := kubetest.Shared(t).Clientset()
	ns, id := cleanNamespace("clean-nogc"), "wordcount"
	kubetest.CreateNamespace(t, cs, ns)
	_, created := applyAppCluster(t, cs, ns, id)
	if got := mustObjectsLeft(t, cs, ns, id); got != created {
		t.Fatalf("objectsLeft() before cleanup = %d, want %d", got, created)
	}
	ctx := context.Background()
	if err := cleanCluster(ctx, cs, ns, id); err != nil {
		t.Fatalf("cleanCluster() = %v", err)
	}
	// The scheduled TaskManager pod terminates gracefully: being deleted,
	// it is still left.
	tm, err := cs.CoreV1().Pods(ns).Get(ctx, id+"-taskmanager-1-1", metav1.GetOptions{})
	if err != nil || tm.DeletionTimestamp == nil {
		t.Fatalf("TaskManager pod: %v, deletionTimestamp %v, want being deleted", err, tm.DeletionTimestamp)
	}
	if got, want := mustObjectsLeft(t, cs, ns, id), 1; got != want {
		t.Fatalf("objectsLeft() while the TaskManager terminates = %d, want %d", got, want)
	}
	waitNothingLeft(t, cs, ns, id, 5*time.Second)
}

// TestCleanClusterLeavesForeignObjects: a Deployment named like the
// cluster without Flink's type label is neither deleted nor counted, and
// the cleanup reports it; an HA ConfigMap without the type label is
// counted but not deleted; the cluster's labelled objects still go.
func TestCleanClusterLeavesForeignObjects(t *testing.T) {
	cs := kubetest.Shared(t).Clientset()
	ctx := context.Background()
	ns, id := cleanNamespace("clean-foreign"), "reports"
	kubetest.CreateNamespace(t, cs, ns)
	labels := map[string]string{labelApp: id}
	foreign := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: id, Namespace: ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}}},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, foreign, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	createHAConfigMap(t, cs, ns, id+"-cluster-config-map", map[string]string{labelApp: id, labelConfigMapType: configMapTypeHA})
	leftover := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: id + "-rest", Namespace: ns, Labels: map[string]string{labelApp: id, labelType: labelTypeValue}},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "rest", Port: 8081}}},
	}
	if _, err := cs.CoreV1().Services(ns).Create(ctx, leftover, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	err := cleanCluster(ctx, cs, ns, id)
	if !errors.Is(err, errCleanupRefused) {
		t.Fatalf("cleanCluster() = %v, want an error wrapping %v", err, errCleanupRefused)
	}
	if !strings.Contains(err.Error(), "deleting the Deployment "+ns+"/"+id) {
		t.Errorf("cleanCluster() = %q, want it to name the Deployment", err)
	}
	if _, err := cs.AppsV1().Deployments(ns).Get(ctx, id, metav1.GetOptions{}); err != nil {
		t.Errorf("the Deployment without Flink's type label: %v, want kept", err)
	}
	if _, err := cs.CoreV1().Services(ns).Get(ctx, leftover.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the cluster's labelled Service: %v, want deleted", err)
	}
	if _, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, id+"-cluster-config-map", metav1.GetOptions{}); err != nil {
		t.Errorf("the HA ConfigMap without Flink's type label: %v, want kept", err)
	}
	if got, want := mustObjectsLeft(t, cs, ns, id), 1; got != want {
		t.Errorf("objectsLeft() = %d, want %d (the HA ConfigMap, not the foreign Deployment)", got, want)
	}
}

// TestCleanClusterWithTheDocumentedRole runs the cleanup as a service
// account bound to docs/rbac/track-worker.yaml: refused without the
// binding, complete with it.
func TestCleanClusterWithTheDocumentedRole(t *testing.T) {
	cp := kubetest.Shared(t)
	admin := cp.Clientset()
	ctx := context.Background()
	ns, id := cleanNamespace("clean-rbac"), "wordcount"
	kubetest.CreateNamespace(t, admin, ns)
	applyAppCluster(t, admin, ns, id)
	rc, err := cp.ConfigFor(ctx, ns, "flinkferry-track")
	if err != nil {
		t.Fatal(err)
	}
	asWorker, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	if err := cleanCluster(ctx, asWorker, ns, id); !apierrors.IsForbidden(err) {
		t.Fatalf("cleanCluster() without RBAC = %v, want forbidden", err)
	}

	b, err := os.ReadFile("../../docs/rbac/track-worker.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.Role
	if err := yaml.UnmarshalStrict(b, &role); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.RbacV1().Roles(ns).Create(ctx, &role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bind := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "flinkferry-track", Namespace: ns}}}
	if _, err := admin.RbacV1().RoleBindings(ns).Create(ctx, bind, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// RBAC caches refresh quickly but not instantly.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := cleanCluster(ctx, asWorker, ns, id)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cleanCluster() with the documented Role = %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	waitNothingLeft(t, admin, ns, id, 5*time.Second)
	if got := mustObjectsLeft(t, asWorker, ns, id); got != 0 {
		t.Errorf("objectsLeft() as the worker = %d, want 0", got)
	}
}

// TestCleanClusterRefusesInvalidNames: a namespace or cluster id that is not
// a DNS label, such as "x,app!=y" (which would widen a label selector), is
// refused before any API call.
func TestCleanClusterRefusesInvalidNames(t *testing.T) {
	cs := fake.NewClientset()
	cs.PrependReactor("*", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		t.Errorf("API call %s %s with an invalid name", a.GetVerb(), a.GetResource().Resource)
		return true, nil, errors.New("no API call expected")
	})
	for _, tc := range []struct{ ns, id string }{
		{"flink-jobs", "x,app!=y"},
		{"flink-jobs", "x app"},
		{"flink-jobs", ""},
		{"flink-jobs", "WordCount"},
		{"flink-jobs", "1wordcount"},
		{"flink-jobs", strings.Repeat("a", 64)},
		{"", "wordcount"},
		{"flink-jobs,type!=x", "wordcount"},
		{"flink.jobs", "wordcount"},
	} {
		t.Run(tc.ns+"/"+tc.id, func(t *testing.T) {
			if err := cleanCluster(context.Background(), cs, tc.ns, tc.id); !errors.Is(err, errCleanupRefused) {
				t.Errorf("cleanCluster(%q, %q) = %v, want %v", tc.ns, tc.id, err, errCleanupRefused)
			}
			if n, err := objectsLeft(context.Background(), cs, tc.ns, tc.id); !errors.Is(err, errCleanupRefused) {
				t.Errorf("objectsLeft(%q, %q) = %d, %v, want %v", tc.ns, tc.id, n, err, errCleanupRefused)
			}
		})
	}
}

// TestCleanClusterDeletesOnlyByBothLabels records every delete of a cleanup:
// the Deployment by its exact name, everything else by app=<id> and
// type=flink-native-kubernetes.
func TestCleanClusterDeletesOnlyByBothLabels(t *testing.T) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "wordcount-rest", Namespace: "flink-jobs",
		Labels: map[string]string{labelApp: "wordcount", labelType: labelTypeValue}}}
	cs := fake.NewClientset(svc)
	var deletes []string
	cs.PrependReactor("*", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		switch a.GetVerb() {
		case "delete-collection":
			a := a.(k8stesting.DeleteCollectionAction)
			deletes = append(deletes, "deletecollection "+a.GetResource().Resource+" "+a.GetListRestrictions().Labels.String())
		case "delete":
			a := a.(k8stesting.DeleteAction)
			deletes = append(deletes, "delete "+a.GetResource().Resource+" "+a.GetName())
		}
		return false, nil, nil
	})
	if err := cleanCluster(context.Background(), cs, "flink-jobs", "wordcount"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"deletecollection deployments app=wordcount,type=flink-native-kubernetes",
		"deletecollection configmaps app=wordcount,type=flink-native-kubernetes",
		"deletecollection pods app=wordcount,type=flink-native-kubernetes",
		"delete services wordcount-rest",
	}
	if got := strings.Join(deletes, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("deletes:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}
