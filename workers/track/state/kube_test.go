package state

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var jmLabels = map[string]string{"type": "flink-native-kubernetes", "app": "wc", "component": "jobmanager"}

// deployment is the JobManager Deployment of cluster wc, as the submit
// worker creates it.
func deployment(replicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "wc", Namespace: "flink-jobs", Labels: jmLabels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: jmLabels},
		},
	}
}

// jmPod is a JobManager pod of wc in phase Running whose main container
// is in state cs.
func jmPod(name string, cs ...corev1.ContainerStatus) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "flink-jobs", Labels: jmLabels},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: cs},
	}
}

func waiting(name, reason, msg string, restarts int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, RestartCount: restarts,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}
}

func runningCS(name string, restarts int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, Ready: true, RestartCount: restarts,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(t0)}}}
}

func lastTerminated(cs corev1.ContainerStatus, reason string, code int32) corev1.ContainerStatus {
	cs.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{Reason: reason, ExitCode: code,
		Message: "Caused by: java.sql.SQLException: password=hunter2"}
	return cs
}

func readyPod(p *corev1.Pod, since time.Time) *corev1.Pod {
	p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{
		Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(since)})
	return p
}

func pendingPod(name string, cond corev1.PodCondition) *corev1.Pod {
	p := jmPod(name)
	p.Status.Phase = corev1.PodPending
	p.Status.Conditions = []corev1.PodCondition{cond}
	return p
}

func TestFromKubernetes(t *testing.T) {
	const main = "flink-main-container"
	deleting := deployment(1)
	deleting.DeletionTimestamp = &metav1.Time{Time: t0}
	readyCount := deployment(1)
	readyCount.Status.ReadyReplicas = 1
	quota := deployment(1)
	quota.Status.Conditions = []appsv1.DeploymentCondition{{
		Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate",
		Message: `pods "wc-7d9" is forbidden: exceeded quota: compute, requested: limits.memory=1728Mi`}}
	evicted := jmPod("wc-a")
	evicted.Status.Phase, evicted.Status.Reason, evicted.Status.Message = corev1.PodFailed, "Evicted", "The node was low on resource: memory."
	terminating := readyPod(jmPod("wc-a", runningCS(main, 0)), t0)
	terminating.DeletionTimestamp = &metav1.Time{Time: t0}
	tm := jmPod("wc-taskmanager-1-1", waiting(main, "ImagePullBackOff", "Back-off pulling image", 0))
	tm.Labels = map[string]string{"type": "flink-native-kubernetes", "app": "wc", "component": "taskmanager"}
	initCrash := jmPod("wc-a", waiting(main, "PodInitializing", "", 0))
	initCrash.Status.Phase = corev1.PodPending
	initCrash.Status.InitContainerStatuses = []corev1.ContainerStatus{
		lastTerminated(waiting("fetch-jar", "CrashLoopBackOff", "back-off 40s restarting failed container=fetch-jar", 3), "Error", 1)}
	initRunning := jmPod("wc-a", waiting(main, "PodInitializing", "", 0))
	initRunning.Status.Phase = corev1.PodPending

	for _, tt := range []struct {
		name         string
		d            *appsv1.Deployment
		pods         []*corev1.Pod
		want         KubeOutcome
		ready        bool
		readySince   time.Time
		scaledToZero bool
		problems     []string // codes
		waiting      []string // codes
		contains     string   // in the first problem's (else waiting's) message
	}{
		{name: "no Deployment: absent", d: nil, want: KubeAbsent},
		{name: "Deployment being deleted: absent", d: deleting, pods: []*corev1.Pod{readyPod(jmPod("wc-a", runningCS(main, 0)), t0)}, want: KubeAbsent},
		{name: "no pod yet", d: deployment(1), want: KubePresent, waiting: []string{ReasonPodMissing}},
		{name: "pods not given, Deployment counts a ready replica", d: readyCount, want: KubePresent, ready: true},
		{name: "scaled to zero", d: deployment(0), want: KubePresent, scaledToZero: true},
		{name: "unschedulable", d: deployment(1), want: KubePresent, waiting: []string{ReasonPodUnschedulable}, contains: "Insufficient cpu",
			pods: []*corev1.Pod{pendingPod("wc-a", corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
				Reason: corev1.PodReasonUnschedulable, Message: "0/3 nodes are available: 3 Insufficient cpu."})}},
		{name: "pending for another reason", d: deployment(1), want: KubePresent, waiting: []string{ReasonPodPending},
			pods: []*corev1.Pod{pendingPod("wc-a", corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "SchedulingGated"})}},
		{name: "pulling the image (ContainerCreating)", d: deployment(1), want: KubePresent, waiting: []string{ReasonContainerCreating},
			pods: []*corev1.Pod{jmPod("wc-a", waiting(main, "ContainerCreating", "", 0))}},
		{name: "ErrImagePull", d: deployment(1), want: KubePresent, problems: []string{ReasonImagePullFailed}, contains: "401 Unauthorized",
			pods: []*corev1.Pod{jmPod("wc-a", waiting(main, "ErrImagePull", `failed to pull and unpack image "reg.example/wc@sha256:ab": 401 Unauthorized`, 0))}},
		{name: "ImagePullBackOff", d: deployment(1), want: KubePresent, problems: []string{ReasonImagePullFailed}, contains: "container flink-main-container: ImagePullBackOff: Back-off pulling image",
			pods: []*corev1.Pod{jmPod("wc-a", waiting(main, "ImagePullBackOff", `Back-off pulling image "reg.example/wc@sha256:ab"`, 0))}},
		{name: "ErrImageNeverPull", d: deployment(1), want: KubePresent, problems: []string{ReasonImageNotPresent},
			pods: []*corev1.Pod{jmPod("wc-a", waiting(main, "ErrImageNeverPull", "image not present with pull policy of Never", 0))}},
		{name: "InvalidImageName", d: deployment(1), want: KubePresent, problems: []string{ReasonInvalidImageName},
			pods: []*corev1.Pod{jmPod("wc-a", waiting(main, "InvalidImageName", `couldn't parse image name "Reg/WC"`, 0))}},
		{name: "CreateContainerConfigError (missing Secret)", d: deployment(1), want: KubePresent, problems: []string{ReasonContainerConfigError}, contains: `secret "s3-creds" not found`,
			pods: []*corev1.Pod{jmPod("wc-a", waiting(main, "CreateContainerConfigError", `secret "s3-creds" not found`, 0))}},
		{name: "CreateContainerError", d: deployment(1), want: KubePresent, problems: []string{ReasonContainerCreateError},
			pods: []*corev1.Pod{jmPod("wc-a", waiting(main, "CreateContainerError", "context deadline exceeded", 0))}},
		{name: "RunContainerError", d: deployment(1), want: KubePresent, problems: []string{ReasonContainerRunError},
			pods: []*corev1.Pod{jmPod("wc-a", waiting(main, "RunContainerError", "exec: not found", 0))}},
		{name: "PostStartHookError", d: deployment(1), want: KubePresent, problems: []string{ReasonContainerHookFailed},
			pods: []*corev1.Pod{jmPod("wc-a", waiting(main, "PostStartHookError", "hook failed", 0))}},
		{name: "CrashLoopBackOff after errors", d: deployment(1), want: KubePresent, problems: []string{ReasonCrashLoop}, contains: "restarts: 4, last exit code 1, Error",
			pods: []*corev1.Pod{jmPod("wc-a", lastTerminated(waiting(main, "CrashLoopBackOff", "back-off 1m20s restarting failed container", 4), "Error", 1))}},
		{name: "CrashLoopBackOff after OOMKilled", d: deployment(1), want: KubePresent, problems: []string{ReasonOOMKilled}, contains: "last exit code 137, OOMKilled",
			pods: []*corev1.Pod{jmPod("wc-a", lastTerminated(waiting(main, "CrashLoopBackOff", "back-off 20s", 2), "OOMKilled", 137))}},
		{name: "OOMKilled once and running again is no problem", d: deployment(1), want: KubePresent, ready: true, readySince: at(time.Minute),
			pods: []*corev1.Pod{readyPod(jmPod("wc-a", lastTerminated(runningCS(main, 1), "OOMKilled", 137)), at(time.Minute))}},
		{name: "init container crash-looping", d: deployment(1), want: KubePresent, problems: []string{ReasonCrashLoop}, waiting: []string{ReasonPodInitializing},
			contains: "init container fetch-jar: CrashLoopBackOff", pods: []*corev1.Pod{initCrash}},
		{name: "init containers running", d: deployment(1), want: KubePresent, waiting: []string{ReasonPodInitializing}, pods: []*corev1.Pod{initRunning}},
		{name: "a waiting reason Kubernetes may add is not a failure", d: deployment(1), want: KubePresent, waiting: []string{ReasonContainerWaiting}, contains: "SomethingNew",
			pods: []*corev1.Pod{jmPod("wc-a", waiting(main, "SomethingNew", "", 0))}},
		{name: "running, not ready", d: deployment(1), want: KubePresent, pods: []*corev1.Pod{jmPod("wc-a", runningCS(main, 0))}},
		{name: "ready", d: deployment(1), want: KubePresent, ready: true, readySince: t0,
			pods: []*corev1.Pod{readyPod(jmPod("wc-a", runningCS(main, 0)), t0)}},
		{name: "two ready JobManagers (HA): the newest readiness counts", d: deployment(2), want: KubePresent, ready: true, readySince: at(time.Hour),
			pods: []*corev1.Pod{readyPod(jmPod("wc-b", runningCS(main, 0)), at(time.Hour)), readyPod(jmPod("wc-a", runningCS(main, 0)), t0)}},
		{name: "a ready JobManager with a crash-looping sidecar", d: deployment(1), want: KubePresent, ready: true, readySince: t0, problems: []string{ReasonCrashLoop}, contains: "container log-shipper",
			pods: []*corev1.Pod{readyPod(jmPod("wc-a", runningCS(main, 0), lastTerminated(waiting("log-shipper", "CrashLoopBackOff", "", 6), "Error", 2)), t0)}},
		{name: "an evicted pod beside its replacement is ignored", d: deployment(1), want: KubePresent, waiting: []string{ReasonContainerCreating},
			pods: []*corev1.Pod{evicted, jmPod("wc-b", waiting(main, "ContainerCreating", "", 0))}},
		{name: "only an evicted pod left", d: deployment(1), want: KubePresent, waiting: []string{ReasonPodEvicted}, contains: "low on resource",
			pods: []*corev1.Pod{evicted}},
		{name: "a terminating pod is ignored", d: deployment(1), want: KubePresent, waiting: []string{ReasonPodMissing}, pods: []*corev1.Pod{terminating}},
		{name: "TaskManager pods are ignored", d: deployment(1), want: KubePresent, ready: true, readySince: t0,
			pods: []*corev1.Pod{tm, readyPod(jmPod("wc-a", runningCS(main, 0)), t0)}},
		{name: "ReplicaFailure (quota exceeded)", d: quota, want: KubePresent, problems: []string{ReasonReplicaFailure}, waiting: []string{ReasonPodMissing}, contains: "exceeded quota"},
		{name: "problems in pod name order, whatever the input order", d: deployment(2), want: KubePresent, problems: []string{ReasonImagePullFailed, ReasonContainerConfigError},
			pods: []*corev1.Pod{jmPod("wc-b", waiting(main, "CreateContainerConfigError", "", 0)), jmPod("wc-a", waiting(main, "ErrImagePull", "", 0))}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k := FromKubernetes(tt.d, tt.pods)
			if got, want := k.Outcome, tt.want; got != want {
				t.Fatalf("Outcome = %v, want %v", got, want)
			}
			if k.Ready != tt.ready || !k.ReadySince.Equal(tt.readySince) || k.ScaledToZero != tt.scaledToZero {
				t.Errorf("Ready %v since %v, ScaledToZero %v; want %v since %v, %v", k.Ready, k.ReadySince, k.ScaledToZero, tt.ready, tt.readySince, tt.scaledToZero)
			}
			if got, want := codes(k.Problems), strings.Join(tt.problems, ","); got != want {
				t.Errorf("Problems = %s, want %s (%+v)", got, want, k.Problems)
			}
			if got, want := codes(k.Waiting), strings.Join(tt.waiting, ","); got != want {
				t.Errorf("Waiting = %s, want %s (%+v)", got, want, k.Waiting)
			}
			all := append(append([]Problem{}, k.Problems...), k.Waiting...)
			for _, p := range all {
				if strings.Contains(p.Message, "hunter2") {
					t.Errorf("a termination message was copied: %q", p.Message)
				}
				if p.Code == "" || p.Message == "" {
					t.Errorf("problem without code or message: %+v", p)
				}
			}
			if tt.contains != "" && (len(all) == 0 || !strings.Contains(all[0].Message, tt.contains)) {
				t.Errorf("first message %+v does not contain %q", all, tt.contains)
			}
		})
	}
}

func codes(ps []Problem) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.Code)
	}
	return strings.Join(s, ",")
}

// TestFromKubernetesThroughDecide checks the two together on literal
// objects: an image that cannot be pulled fails the deployment, one that
// is being pulled does not.
func TestFromKubernetesThroughDecide(t *testing.T) {
	for _, tt := range []struct {
		name   string
		reason string
		want   string
	}{
		{"pulling", "ContainerCreating", "K8S_INITIALIZING/container_creating"},
		{"pull failed", "ImagePullBackOff", "DEPLOY_FAILED/image_pull_failed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k := FromKubernetes(deployment(1), []*corev1.Pod{jmPod("wc-a", waiting("flink-main-container", tt.reason, "", 0))})
			d := Decide("application", rec(starting, t0), Observation{Time: at(time.Minute), REST: unreachable(), Kube: k}, Config{})
			if got := string(d.State) + "/" + d.Reason; got != tt.want {
				t.Errorf("Decide(FromKubernetes()) = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestClipKeepsRunes(t *testing.T) {
	s := strings.Repeat("é", 2000) // 2 bytes each
	got := clip(s)
	if len(got) > maxProblemMessage || !strings.HasPrefix(s, got) || len(got) < maxProblemMessage-1 {
		t.Fatalf("clip() = %d bytes", len(got))
	}
	if strings.ContainsRune(got, '\uFFFD') || !utf8.ValidString(got) {
		t.Fatalf("clip() cut a rune")
	}
}
