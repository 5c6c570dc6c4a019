package kubetest

// The control plane has no kubelet, no scheduler and no cloud provider. The
// helpers in this file write what those would, through the status
// subresources, so that code which watches Deployments, pods and Services can
// be tested against the real API.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"net"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// NodeName is the node that pods made by CreatePodFor are bound to. No Node
// object exists (nothing here garbage-collects pods of missing nodes).
const NodeName = "kubetest-node"

// SetDeploymentAvailable writes the status a Deployment controller reports
// once replicas pods are up: observedGeneration caught up, replicas,
// updatedReplicas, readyReplicas and availableReplicas set to replicas, and
// the conditions Available=True (MinimumReplicasAvailable) and
// Progressing=True (NewReplicaSetAvailable). With Options.ControllerManager
// the real Deployment controller may overwrite it.
func SetDeploymentAvailable(ctx context.Context, cs kubernetes.Interface, namespace, name string, replicas int32) error {
	deployments := cs.AppsV1().Deployments(namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := deployments.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now := metav1.Now()
		d.Status = appsv1.DeploymentStatus{
			ObservedGeneration: d.Generation,
			Replicas:           replicas,
			UpdatedReplicas:    replicas,
			ReadyReplicas:      replicas,
			AvailableReplicas:  replicas,
			Conditions: []appsv1.DeploymentCondition{
				{
					Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue,
					Reason: "MinimumReplicasAvailable", Message: "Deployment has minimum availability.",
					LastUpdateTime: now, LastTransitionTime: now,
				},
				{
					Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue,
					Reason:         "NewReplicaSetAvailable",
					Message:        fmt.Sprintf("Deployment %q has successfully progressed.", name),
					LastUpdateTime: now, LastTransitionTime: now,
				},
			},
		}
		_, err = deployments.UpdateStatus(ctx, d, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("setting Deployment %s/%s available: %w", namespace, name, err)
	}
	return nil
}

// CreatePodFor creates a pod of Deployment d as the Deployment and
// ReplicaSet controllers would, and gives it the status a kubelet would
// report:
//   - ownership: the pod is controlled by a ReplicaSet that d controls
//     (the one already there, e.g. made by Options.ControllerManager, or else
//     one created here, named <d.Name>-<hash of the pod template>);
//   - labels: d's pod template labels plus pod-template-hash; spec: d's pod
//     template, bound to NodeName;
//   - status: phase, and containerStatuses when given, else one status per
//     container matching the phase (Running: running and ready; Pending:
//     waiting with reason ContainerCreating; Succeeded/Failed: terminated
//     with exit code 0/1).
//
// Without a serviceaccount controller no "default" ServiceAccount exists, and
// the ServiceAccount admission plugin refuses pods that use it; CreatePodFor
// creates it. A pod template naming another ServiceAccount needs that
// account to exist, as in a cluster.
//
// With Options.ControllerManager the ReplicaSet controller deletes pods
// beyond the wanted replicas: set the status of the pods it creates instead.
func CreatePodFor(ctx context.Context, cs kubernetes.Interface, d *appsv1.Deployment, phase corev1.PodPhase, containerStatuses []corev1.ContainerStatus) (*corev1.Pod, error) {
	rs, err := replicaSetFor(ctx, cs, d)
	if err != nil {
		return nil, err
	}
	if sa := d.Spec.Template.Spec.ServiceAccountName; sa == "" || sa == "default" {
		_, err := cs.CoreV1().ServiceAccounts(d.Namespace).Create(ctx, &corev1.ServiceAccount{
			ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: d.Namespace},
		}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("creating ServiceAccount %s/default: %w", d.Namespace, err)
		}
	}

	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    rs.Name + "-",
			Namespace:       d.Namespace,
			Labels:          maps.Clone(rs.Spec.Template.Labels),
			Annotations:     maps.Clone(rs.Spec.Template.Annotations),
			OwnerReferences: []metav1.OwnerReference{controllerRef(rs.Name, rs.UID, "ReplicaSet")},
		},
		Spec: *rs.Spec.Template.Spec.DeepCopy(),
	}
	pod.Spec.NodeName = NodeName
	pods := cs.CoreV1().Pods(d.Namespace)
	pod, err = pods.Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating a pod for Deployment %s/%s: %w", d.Namespace, d.Name, err)
	}

	if phase == "" {
		phase = corev1.PodPending
	}
	if containerStatuses == nil {
		containerStatuses = defaultStatuses(pod, phase)
	}
	now := metav1.Now()
	ready := allReady(containerStatuses)
	pod.Status = corev1.PodStatus{
		Phase:             phase,
		Conditions:        podConditions(ready && phase == corev1.PodRunning, now),
		HostIP:            "127.0.0.1",
		StartTime:         &now,
		ContainerStatuses: containerStatuses,
	}
	pod, err = pods.UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("setting the status of pod %s/%s: %w", d.Namespace, pod.Name, err)
	}
	return pod, nil
}

// RunDeployment does what the Deployment controller, the scheduler and a
// kubelet do once a one-replica Deployment is up: one pod of d, running and
// ready (CreatePodFor), and d available with one replica
// (SetDeploymentAvailable). It returns the pod.
func RunDeployment(ctx context.Context, cs kubernetes.Interface, d *appsv1.Deployment) (*corev1.Pod, error) {
	pod, err := CreatePodFor(ctx, cs, d, corev1.PodRunning, nil)
	if err != nil {
		return nil, err
	}
	if err := SetDeploymentAvailable(ctx, cs, d.Namespace, d.Name, 1); err != nil {
		return nil, err
	}
	return pod, nil
}

// FinishPodDeletions deletes with no grace period the pods of namespace
// that are being deleted, as their kubelet does once their containers
// stopped: without a kubelet, a deleted pod bound to a node stays
// Terminating. Pods not being deleted are left alone; a pod already gone is
// no error.
func FinishPodDeletions(ctx context.Context, cs kubernetes.Interface, namespace string) error {
	pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing the pods of %s: %w", namespace, err)
	}
	zero := int64(0)
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			continue
		}
		err := cs.CoreV1().Pods(namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("finishing the deletion of pod %s/%s: %w", namespace, p.Name, err)
		}
	}
	return nil
}

// SetPodContainerWaiting reports container of pod as waiting with reason
// and message, the way a kubelet reports ErrImagePull, ImagePullBackOff,
// CreateContainerConfigError or CrashLoopBackOff. The container is not
// ready, nor is the pod. For CrashLoopBackOff the container also gets a
// restart and a last state of terminated with exit code 1, and the pod stays
// or becomes Running (its containers started once); for other reasons a pod
// that has not run yet stays Pending.
func SetPodContainerWaiting(ctx context.Context, cs kubernetes.Interface, namespace, pod, container, reason, message string) error {
	err := updatePodStatus(ctx, cs, namespace, pod, func(p *corev1.Pod) error {
		st, err := containerStatus(p, container)
		if err != nil {
			return err
		}
		st.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}
		st.Ready = false
		st.Started = new(false)
		if reason == "CrashLoopBackOff" {
			now := metav1.Now()
			st.RestartCount++
			st.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 1, Reason: "Error", StartedAt: now, FinishedAt: now,
			}}
			p.Status.Phase = corev1.PodRunning
		} else if p.Status.Phase == "" {
			p.Status.Phase = corev1.PodPending
		}
		p.Status.Conditions = podConditions(false, metav1.Now())
		return nil
	})
	if err != nil {
		return fmt.Errorf("setting container %s of pod %s/%s waiting (%s): %w", container, namespace, pod, reason, err)
	}
	return nil
}

// SetPodRunning reports every container of pod as running and ready, and the
// pod as Running and Ready.
func SetPodRunning(ctx context.Context, cs kubernetes.Interface, namespace, pod string) error {
	err := updatePodStatus(ctx, cs, namespace, pod, func(p *corev1.Pod) error {
		now := metav1.Now()
		for _, c := range p.Spec.Containers {
			st, err := containerStatus(p, c.Name)
			if err != nil {
				return err
			}
			st.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}
			st.Ready = true
			st.Started = new(true)
		}
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = podConditions(true, now)
		if p.Status.StartTime == nil {
			p.Status.StartTime = &now
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("setting pod %s/%s running: %w", namespace, pod, err)
	}
	return nil
}

// SetLoadBalancerIngress writes the address a cloud provider's load balancer
// controller reports for a Service of type LoadBalancer: an IP when
// ipOrHostname parses as one, else a hostname.
func SetLoadBalancerIngress(ctx context.Context, cs kubernetes.Interface, namespace, service, ipOrHostname string) error {
	services := cs.CoreV1().Services(namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		svc, err := services.Get(ctx, service, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
			return fmt.Errorf("service type is %q, not LoadBalancer: no load balancer would serve it", svc.Spec.Type)
		}
		ingress := corev1.LoadBalancerIngress{Hostname: ipOrHostname}
		if net.ParseIP(ipOrHostname) != nil {
			ingress = corev1.LoadBalancerIngress{IP: ipOrHostname}
		}
		svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{ingress}
		_, err = services.UpdateStatus(ctx, svc, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("setting the load balancer ingress of Service %s/%s: %w", namespace, service, err)
	}
	return nil
}

// replicaSetFor returns the ReplicaSet that d controls, creating one when
// there is none. When several exist it picks the newest, as the current
// revision would be.
func replicaSetFor(ctx context.Context, cs kubernetes.Interface, d *appsv1.Deployment) (*appsv1.ReplicaSet, error) {
	if d.UID == "" {
		return nil, errors.New("the Deployment has no UID: pass the object the apiserver returned")
	}
	if d.Spec.Selector == nil {
		return nil, fmt.Errorf("Deployment %s/%s has no selector", d.Namespace, d.Name)
	}
	selector, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("Deployment %s/%s: %w", d.Namespace, d.Name, err)
	}
	sets := cs.AppsV1().ReplicaSets(d.Namespace)
	list, err := sets.List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return nil, fmt.Errorf("listing the ReplicaSets of Deployment %s/%s: %w", d.Namespace, d.Name, err)
	}
	var found *appsv1.ReplicaSet
	for i := range list.Items {
		rs := &list.Items[i]
		if ref := metav1.GetControllerOf(rs); ref == nil || ref.UID != d.UID {
			continue
		}
		if found == nil || found.CreationTimestamp.Before(&rs.CreationTimestamp) {
			found = rs
		}
	}
	if found != nil {
		return found, nil
	}

	hash, err := templateHash(&d.Spec.Template)
	if err != nil {
		return nil, err
	}
	template := *d.Spec.Template.DeepCopy()
	template.Labels = labels.Merge(template.Labels, labels.Set{appsv1.DefaultDeploymentUniqueLabelKey: hash})
	selectorWithHash := d.Spec.Selector.DeepCopy()
	selectorWithHash.MatchLabels = labels.Merge(selectorWithHash.MatchLabels, labels.Set{appsv1.DefaultDeploymentUniqueLabelKey: hash})
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:            d.Name + "-" + hash,
			Namespace:       d.Namespace,
			Labels:          template.Labels,
			Annotations:     map[string]string{"deployment.kubernetes.io/revision": "1"},
			OwnerReferences: []metav1.OwnerReference{controllerRef(d.Name, d.UID, "Deployment")},
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: d.Spec.Replicas,
			Selector: selectorWithHash,
			Template: template,
		},
	}
	created, err := sets.Create(ctx, rs, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		created, err = sets.Get(ctx, rs.Name, metav1.GetOptions{})
	}
	if err != nil {
		return nil, fmt.Errorf("creating a ReplicaSet for Deployment %s/%s: %w", d.Namespace, d.Name, err)
	}
	return created, nil
}

// templateHash names a ReplicaSet after its pod template, like the
// Deployment controller does (its value differs: the controller hashes with
// its own object printer).
func templateHash(t *corev1.PodTemplateSpec) (string, error) {
	data, err := json.Marshal(t)
	if err != nil {
		return "", fmt.Errorf("hashing the pod template: %w", err)
	}
	h := fnv.New32a()
	h.Write(data)
	return rand.SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10)), nil
}

// controllerRef is the ownerReference the apps controllers set: controller,
// and blocking the owner's foreground deletion.
func controllerRef(name string, uid types.UID, kind string) metav1.OwnerReference {
	return metav1.OwnerReference{
		APIVersion:         appsv1.SchemeGroupVersion.String(),
		Kind:               kind,
		Name:               name,
		UID:                uid,
		Controller:         new(true),
		BlockOwnerDeletion: new(true),
	}
}

// updatePodStatus applies mutate to the current pod and writes its status,
// retrying on conflicts.
func updatePodStatus(ctx context.Context, cs kubernetes.Interface, namespace, name string, mutate func(*corev1.Pod) error) error {
	pods := cs.CoreV1().Pods(namespace)
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p, err := pods.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if err := mutate(p); err != nil {
			return err
		}
		_, err = pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
		return err
	})
}

// containerStatus returns the status entry of container in p, adding it
// when missing. The container must be in the pod's spec.
func containerStatus(p *corev1.Pod, container string) (*corev1.ContainerStatus, error) {
	image := ""
	for _, c := range p.Spec.Containers {
		if c.Name == container {
			image = c.Image
		}
	}
	if image == "" {
		return nil, fmt.Errorf("pod %s/%s has no container %q", p.Namespace, p.Name, container)
	}
	for i := range p.Status.ContainerStatuses {
		if p.Status.ContainerStatuses[i].Name == container {
			return &p.Status.ContainerStatuses[i], nil
		}
	}
	p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: container, Image: image})
	return &p.Status.ContainerStatuses[len(p.Status.ContainerStatuses)-1], nil
}

func defaultStatuses(p *corev1.Pod, phase corev1.PodPhase) []corev1.ContainerStatus {
	now := metav1.Now()
	statuses := make([]corev1.ContainerStatus, 0, len(p.Spec.Containers))
	for _, c := range p.Spec.Containers {
		st := corev1.ContainerStatus{Name: c.Name, Image: c.Image, Started: new(false)}
		switch phase {
		case corev1.PodRunning:
			st.State.Running = &corev1.ContainerStateRunning{StartedAt: now}
			st.Ready, st.Started = true, new(true)
		case corev1.PodSucceeded:
			st.State.Terminated = &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: now, FinishedAt: now}
		case corev1.PodFailed:
			st.State.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", StartedAt: now, FinishedAt: now}
		default:
			st.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
		}
		statuses = append(statuses, st)
	}
	return statuses
}

func allReady(statuses []corev1.ContainerStatus) bool {
	for _, st := range statuses {
		if !st.Ready {
			return false
		}
	}
	return len(statuses) > 0
}

// podConditions returns the conditions of a scheduled, initialized pod whose
// containers are ready or not.
func podConditions(ready bool, now metav1.Time) []corev1.PodCondition {
	readyStatus, reason := corev1.ConditionFalse, "ContainersNotReady"
	if ready {
		readyStatus, reason = corev1.ConditionTrue, ""
	}
	return []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.ContainersReady, Status: readyStatus, Reason: reason, LastTransitionTime: now},
		{Type: corev1.PodReady, Status: readyStatus, Reason: reason, LastTransitionTime: now},
	}
}
