package alert

import (
	"slices"

	"github.com/flinkferry/flinkferry/messages"
)

// Match is a predicate over one JobStatusChanged. Every list that is set
// must contain the event's value; Labels must all be equal.
type Match struct {
	// To lists the states (the event's to) that fire.
	To []messages.JobState
	// OperationFailed fires on an event whose operation.status is failed.
	// An event fires when its state is in To or, with OperationFailed, its
	// operation failed.
	OperationFailed bool
	// Labels must all be present with these values.
	Labels map[string]string
	// KubeClusters are Kubernetes cluster names; "default" also matches
	// the workers' default cluster (an empty job.kube_cluster).
	KubeClusters []string
	// Namespaces are Kubernetes namespaces.
	Namespaces []string
	// Modes are application, session or session-cluster.
	Modes []messages.Mode
}

// Matches reports whether ev fires the alert.
func (m Match) Matches(ev *messages.JobStatusChanged) bool {
	fires := slices.Contains(m.To, ev.To) ||
		(m.OperationFailed && ev.Operation != nil && ev.Operation.Status == messages.OperationFailed)
	return fires && m.Selects(ev.Job, ev.Labels, ev.Mode)
}

// Selects reports whether the job (identity, labels, mode) passes the
// labels, kube cluster, namespace and mode filters.
func (m Match) Selects(job messages.JobRef, labels map[string]string, mode messages.Mode) bool {
	for k, v := range m.Labels {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	if len(m.KubeClusters) > 0 {
		kc := job.KubeCluster
		if !slices.Contains(m.KubeClusters, kc) && !(kc == "" && slices.Contains(m.KubeClusters, "default")) {
			return false
		}
	}
	if len(m.Namespaces) > 0 && !slices.Contains(m.Namespaces, job.Namespace) {
		return false
	}
	if len(m.Modes) > 0 && !slices.Contains(m.Modes, mode) {
		return false
	}
	return true
}
