package state

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// maxProblemMessage bounds Problem.Message.
const maxProblemMessage = 1024

// FromKubernetes describes a JobManager Deployment and its pods as Decide
// reads them. d nil, or being deleted, is KubeAbsent: call it only once
// the informer has synced, and pass Kube{Outcome: KubeUnknown} otherwise.
// Pods not matched by d's selector (TaskManagers), pods being deleted and,
// while a live pod exists, finished pods (evicted, failed: the ReplicaSet
// replaces them) are ignored. Problems and Waiting come in a stable order
// (pods by name; a pod's scheduling, then init containers, then
// containers) whatever order pods come in. Containers' termination
// messages are never copied (they may hold log lines).
func FromKubernetes(d *appsv1.Deployment, pods []*corev1.Pod) Kube {
	if d == nil || d.DeletionTimestamp != nil {
		return Kube{Outcome: KubeAbsent}
	}
	k := Kube{Outcome: KubePresent}
	k.ScaledToZero = d.Spec.Replicas != nil && *d.Spec.Replicas == 0
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue {
			k.Problems = append(k.Problems, Problem{
				Code: ReasonReplicaFailure, KubeReason: c.Reason,
				Message: clip(fmt.Sprintf("deployment %s: %s: %s", d.Name, c.Reason, c.Message)),
			})
		}
	}
	sel := labels.Everything()
	if d.Spec.Selector != nil {
		if s, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err == nil {
			sel = s
		}
	}
	var mine []*corev1.Pod
	for _, p := range pods {
		if p != nil && p.DeletionTimestamp == nil && sel.Matches(labels.Set(p.Labels)) {
			mine = append(mine, p)
		}
	}
	slices.SortFunc(mine, func(a, b *corev1.Pod) int { return strings.Compare(a.Name, b.Name) })

	var live int
	var finished []Problem
	for _, p := range mine {
		if p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded {
			finished = append(finished, finishedPod(p))
			continue
		}
		live++
		k.observePod(p)
	}
	if live == 0 {
		switch {
		case len(mine) == 0 && d.Status.ReadyReplicas > 0:
			k.Ready = true // pods not given: trust the Deployment's count
		case len(finished) > 0:
			k.Waiting = append(k.Waiting, finished...)
		case !k.ScaledToZero:
			k.Waiting = append(k.Waiting, Problem{
				Code: ReasonPodMissing, Message: clip(fmt.Sprintf("deployment %s has no JobManager pod yet", d.Name)),
			})
		}
	}
	return k
}

// observePod adds one live JobManager pod to k.
func (k *Kube) observePod(p *corev1.Pod) {
	for _, c := range p.Status.Conditions {
		switch {
		case c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue:
			k.Ready = true
			if t := c.LastTransitionTime.Time; t.After(k.ReadySince) {
				k.ReadySince = t
			}
		case c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse:
			code := ReasonPodPending
			if c.Reason == corev1.PodReasonUnschedulable {
				code = ReasonPodUnschedulable
			}
			k.Waiting = append(k.Waiting, Problem{
				Code: code, KubeReason: c.Reason, Pod: p.Name,
				Message: clip(fmt.Sprintf("pod %s: %s: %s", p.Name, c.Reason, c.Message)),
			})
		}
	}
	for _, cs := range p.Status.InitContainerStatuses {
		k.observeContainer(p, cs, "init container")
	}
	for _, cs := range p.Status.ContainerStatuses {
		k.observeContainer(p, cs, "container")
	}
}

// observeContainer adds a waiting container to k's problems or waiting
// reasons. Running and terminated containers add nothing: a terminated
// container of a Deployment's pod is restarted, and a crash shows as
// CrashLoopBackOff next.
func (k *Kube) observeContainer(p *corev1.Pod, cs corev1.ContainerStatus, kind string) {
	w := cs.State.Waiting
	if w == nil {
		return
	}
	r, known := kubeReasons[w.Reason]
	if !known {
		r.code = ReasonContainerWaiting
	}
	msg := fmt.Sprintf("pod %s, %s %s: %s", p.Name, kind, cs.Name, w.Reason)
	if w.Message != "" {
		msg += ": " + w.Message
	}
	if t := cs.LastTerminationState.Terminated; t != nil && w.Reason == "CrashLoopBackOff" {
		if t.Reason == "OOMKilled" {
			r.code = ReasonOOMKilled
		}
		msg += fmt.Sprintf(" (restarts: %d, last exit code %d", cs.RestartCount, t.ExitCode)
		if t.Reason != "" {
			msg += ", " + t.Reason
		}
		msg += ")"
	}
	pr := Problem{Code: r.code, KubeReason: w.Reason, Pod: p.Name, Container: cs.Name, Message: clip(msg), RestartCount: cs.RestartCount}
	if r.fatal {
		k.Problems = append(k.Problems, pr)
	} else {
		k.Waiting = append(k.Waiting, pr)
	}
}

// finishedPod describes a JobManager pod that ended (evicted, failed).
func finishedPod(p *corev1.Pod) Problem {
	code := ReasonPodFailed
	if p.Status.Reason == "Evicted" {
		code = ReasonPodEvicted
	}
	msg := fmt.Sprintf("pod %s: %s", p.Name, p.Status.Phase)
	if p.Status.Reason != "" {
		msg += ": " + p.Status.Reason
	}
	if p.Status.Message != "" {
		msg += ": " + p.Status.Message
	}
	return Problem{Code: code, KubeReason: p.Status.Reason, Pod: p.Name, Message: clip(msg)}
}

// clip cuts s to maxProblemMessage bytes, never inside a rune.
func clip(s string) string {
	if len(s) <= maxProblemMessage {
		return s
	}
	for i := maxProblemMessage; i > maxProblemMessage-utf8.UTFMax; i-- {
		if utf8.RuneStart(s[i]) {
			return s[:i]
		}
	}
	return s[:maxProblemMessage]
}
