package kubetest_test

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/flinkferry/flinkferry/internal/kubetest"
)

func kubernetesFor(t *testing.T, cfg *rest.Config) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("creating a clientset: %v", err)
	}
	return cs
}

func TestSetDeploymentAvailable(t *testing.T) {
	cs := kubetest.Shared(t).Clientset()
	ctx := t.Context()
	ns := newNamespace(t, cs, "available")
	if _, err := cs.AppsV1().Deployments(ns).Apply(ctx, newJobManager(ns, "job").deployment, metav1.ApplyOptions{FieldManager: fieldManager}); err != nil {
		t.Fatalf("applying the Deployment: %v", err)
	}
	if err := kubetest.SetDeploymentAvailable(ctx, cs, ns, "job", 1); err != nil {
		t.Fatalf("SetDeploymentAvailable: %v", err)
	}
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, "job", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.Status.AvailableReplicas, int32(1); got != want {
		t.Errorf("availableReplicas = %d, want %d", got, want)
	}
	if got, want := d.Status.ReadyReplicas, int32(1); got != want {
		t.Errorf("readyReplicas = %d, want %d", got, want)
	}
	if got, want := d.Status.ObservedGeneration, d.Generation; got != want {
		t.Errorf("observedGeneration = %d, want %d", got, want)
	}
	if got, want := condition(d, appsv1.DeploymentAvailable), corev1.ConditionTrue; got != want {
		t.Errorf("Available condition = %q, want %q", got, want)
	}
}

func condition(d *appsv1.Deployment, typ appsv1.DeploymentConditionType) corev1.ConditionStatus {
	for _, c := range d.Status.Conditions {
		if c.Type == typ {
			return c.Status
		}
	}
	return ""
}

func TestPodHelpers(t *testing.T) {
	cs := kubetest.Shared(t).Clientset()
	ctx := t.Context()
	ns := newNamespace(t, cs, "pods")
	d, err := cs.AppsV1().Deployments(ns).Apply(ctx, newJobManager(ns, "job").deployment, metav1.ApplyOptions{FieldManager: fieldManager})
	if err != nil {
		t.Fatalf("applying the Deployment: %v", err)
	}
	pod, err := kubetest.CreatePodFor(ctx, cs, d, corev1.PodPending, nil)
	if err != nil {
		t.Fatalf("CreatePodFor: %v", err)
	}

	t.Run("OwnedAndLabelledLikeARealPod", func(t *testing.T) {
		selector, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil {
			t.Fatal(err)
		}
		if !selector.Matches(labels.Set(pod.Labels)) {
			t.Errorf("pod labels %v do not match the Deployment selector %v", pod.Labels, selector)
		}
		if pod.Labels[appsv1.DefaultDeploymentUniqueLabelKey] == "" {
			t.Errorf("pod has no %s label", appsv1.DefaultDeploymentUniqueLabelKey)
		}
		rsRef := metav1.GetControllerOf(pod)
		if rsRef == nil || rsRef.Kind != "ReplicaSet" {
			t.Fatalf("pod controller = %v, want a ReplicaSet", rsRef)
		}
		rs, err := cs.AppsV1().ReplicaSets(ns).Get(ctx, rsRef.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("getting the pod's ReplicaSet: %v", err)
		}
		if dRef := metav1.GetControllerOf(rs); dRef == nil || dRef.Kind != "Deployment" || dRef.UID != d.UID {
			t.Errorf("ReplicaSet controller = %v, want Deployment %s", dRef, d.UID)
		}
		if got, want := pod.Status.Phase, corev1.PodPending; got != want {
			t.Errorf("phase = %q, want %q", got, want)
		}
		// A second pod reuses the ReplicaSet.
		again, err := kubetest.CreatePodFor(ctx, cs, d, corev1.PodRunning, nil)
		if err != nil {
			t.Fatalf("CreatePodFor: %v", err)
		}
		if got, want := metav1.GetControllerOf(again).Name, rs.Name; got != want {
			t.Errorf("second pod's ReplicaSet = %q, want %q", got, want)
		}
		if got, want := again.Status.Phase, corev1.PodRunning; got != want {
			t.Errorf("second pod phase = %q, want %q", got, want)
		}
	})

	for _, tc := range []struct {
		reason    string
		wantPhase corev1.PodPhase
		restarts  int32
	}{
		{"ErrImagePull", corev1.PodPending, 0},
		{"ImagePullBackOff", corev1.PodPending, 0},
		{"CreateContainerConfigError", corev1.PodPending, 0},
		{"CrashLoopBackOff", corev1.PodRunning, 1},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			p, err := kubetest.CreatePodFor(ctx, cs, d, corev1.PodPending, nil)
			if err != nil {
				t.Fatalf("CreatePodFor: %v", err)
			}
			msg := "Back-off pulling image \"registry.example/flink-job\""
			if err := kubetest.SetPodContainerWaiting(ctx, cs, ns, p.Name, "flink-main-container", tc.reason, msg); err != nil {
				t.Fatalf("SetPodContainerWaiting: %v", err)
			}
			got, err := cs.CoreV1().Pods(ns).Get(ctx, p.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			st := got.Status.ContainerStatuses[0]
			if st.State.Waiting == nil {
				t.Fatalf("container state = %+v, want waiting", st.State)
			}
			if st.State.Waiting.Reason != tc.reason || st.State.Waiting.Message != msg {
				t.Errorf("waiting = %q %q, want %q %q", st.State.Waiting.Reason, st.State.Waiting.Message, tc.reason, msg)
			}
			if got, want := got.Status.Phase, tc.wantPhase; got != want {
				t.Errorf("phase = %q, want %q", got, want)
			}
			if got, want := st.RestartCount, tc.restarts; got != want {
				t.Errorf("restartCount = %d, want %d", got, want)
			}
			if st.Ready {
				t.Error("container is ready")
			}
		})
	}

	t.Run("SetPodRunning", func(t *testing.T) {
		if err := kubetest.SetPodRunning(ctx, cs, ns, pod.Name); err != nil {
			t.Fatalf("SetPodRunning: %v", err)
		}
		got, err := cs.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := got.Status.Phase, corev1.PodRunning; got != want {
			t.Errorf("phase = %q, want %q", got, want)
		}
		st := got.Status.ContainerStatuses[0]
		if !st.Ready || st.State.Running == nil {
			t.Errorf("container status = %+v, want running and ready", st)
		}
		ready := false
		for _, c := range got.Status.Conditions {
			ready = ready || (c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue)
		}
		if !ready {
			t.Errorf("conditions = %+v, want Ready=True", got.Status.Conditions)
		}
	})

	t.Run("UnknownContainer", func(t *testing.T) {
		if err := kubetest.SetPodContainerWaiting(ctx, cs, ns, pod.Name, "nope", "ErrImagePull", ""); err == nil {
			t.Error("SetPodContainerWaiting on an unknown container succeeded")
		}
	})
}

func TestSetLoadBalancerIngress(t *testing.T) {
	cs := kubetest.Shared(t).Clientset()
	ctx := t.Context()
	ns := newNamespace(t, cs, "lb")
	opts := metav1.ApplyOptions{FieldManager: fieldManager}
	for _, name := range []string{"by-ip", "by-hostname"} {
		svc := corev1ac.Service(name, ns).WithSpec(corev1ac.ServiceSpec().
			WithType(corev1.ServiceTypeLoadBalancer).
			WithSelector(map[string]string{"app": "job"}).
			WithPorts(corev1ac.ServicePort().WithName("rest").WithPort(8081)))
		if _, err := cs.CoreV1().Services(ns).Apply(ctx, svc, opts); err != nil {
			t.Fatalf("applying Service %s: %v", name, err)
		}
	}
	for _, tc := range []struct{ svc, addr, wantIP, wantHost string }{
		{"by-ip", "203.0.113.7", "203.0.113.7", ""},
		{"by-hostname", "lb-1.example.com", "", "lb-1.example.com"},
	} {
		if err := kubetest.SetLoadBalancerIngress(ctx, cs, ns, tc.svc, tc.addr); err != nil {
			t.Fatalf("SetLoadBalancerIngress(%s): %v", tc.svc, err)
		}
		got, err := cs.CoreV1().Services(ns).Get(ctx, tc.svc, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Status.LoadBalancer.Ingress) != 1 {
			t.Fatalf("%s: ingress = %+v, want one entry", tc.svc, got.Status.LoadBalancer.Ingress)
		}
		in := got.Status.LoadBalancer.Ingress[0]
		if in.IP != tc.wantIP || in.Hostname != tc.wantHost {
			t.Errorf("%s: ingress = ip %q hostname %q, want ip %q hostname %q", tc.svc, in.IP, in.Hostname, tc.wantIP, tc.wantHost)
		}
	}

	// A ClusterIP Service gets no load balancer.
	if _, err := cs.CoreV1().Services(ns).Apply(ctx, newJobManager(ns, "job").service, opts); err != nil {
		t.Fatal(err)
	}
	if err := kubetest.SetLoadBalancerIngress(ctx, cs, ns, "job-rest", "203.0.113.8"); err == nil {
		t.Error("SetLoadBalancerIngress on a ClusterIP Service succeeded")
	}
}

// TestRunDeploymentAndFinishPodDeletions: RunDeployment leaves a running,
// ready pod and an available Deployment; a deleted pod stays Terminating
// (bound to a node, no kubelet) until FinishPodDeletions, which leaves the
// other pods alone.
func TestRunDeploymentAndFinishPodDeletions(t *testing.T) {
	cs := kubetest.Shared(t).Clientset()
	ctx := t.Context()
	ns := newNamespace(t, cs, "run")
	d, err := cs.AppsV1().Deployments(ns).Apply(ctx, newJobManager(ns, "job").deployment, metav1.ApplyOptions{FieldManager: fieldManager})
	if err != nil {
		t.Fatalf("applying the Deployment: %v", err)
	}
	pod, err := kubetest.RunDeployment(ctx, cs, d)
	if err != nil {
		t.Fatalf("RunDeployment: %v", err)
	}
	if got, want := pod.Status.Phase, corev1.PodRunning; got != want {
		t.Errorf("pod phase = %q, want %q", got, want)
	}
	if got := pod.Status.ContainerStatuses; len(got) != 1 || !got[0].Ready {
		t.Errorf("container statuses = %+v, want one ready", got)
	}
	d, err = cs.AppsV1().Deployments(ns).Get(ctx, "job", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.Status.AvailableReplicas, int32(1); got != want {
		t.Errorf("availableReplicas = %d, want %d", got, want)
	}

	other, err := kubetest.CreatePodFor(ctx, cs, d, corev1.PodRunning, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.CoreV1().Pods(ns).Delete(ctx, pod.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	terminating, err := cs.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("a deleted pod bound to a node: %v, want it Terminating until its kubelet confirms", err)
	}
	if terminating.DeletionTimestamp == nil {
		t.Fatalf("deleted pod has no deletionTimestamp")
	}
	if err := kubetest.FinishPodDeletions(ctx, cs, ns); err != nil {
		t.Fatalf("FinishPodDeletions: %v", err)
	}
	if _, err := cs.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("deleted pod after FinishPodDeletions: %v, want NotFound", err)
	}
	if _, err := cs.CoreV1().Pods(ns).Get(ctx, other.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("the pod not being deleted: %v, want it left alone", err)
	}
	if err := kubetest.FinishPodDeletions(ctx, cs, ns); err != nil {
		t.Errorf("FinishPodDeletions again: %v, want nil", err)
	}
}
