package state

import (
	"time"

	"github.com/flinkferry/flinkferry/messages"
)

// t0 is the start of every test's timeline.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// at is t0 plus d.
func at(d time.Duration) time.Time { return t0.Add(d) }

const (
	sec = time.Second
	min = time.Minute
)

// Short names for the states.
const (
	starting    = messages.StateStarting
	k8sInit     = messages.StateK8sInitializing
	silent      = messages.StateSilent
	lost        = messages.StateLost
	terminated  = messages.StateTerminated
	deployFail  = messages.StateDeployFailed
	running     = messages.StateRunning
	initializng = messages.StateInitializing
	created     = messages.StateCreated
	failing     = messages.StateFailing
	failed      = messages.StateFailed
	restarting  = messages.StateRestarting
	suspended   = messages.StateSuspended
	finished    = messages.StateFinished
	canceled    = messages.StateCanceled
	cancelling  = messages.StateCancelling
	reconciling = messages.StateReconciling
)

// REST observations.
func notPolled() REST { return REST{Outcome: RESTNotPolled} }
func listed(s messages.JobState) REST {
	return REST{Outcome: RESTAnswered, JobFound: true, JobState: s}
}
func notListed() REST { return REST{Outcome: RESTAnswered} }
func unreachable() REST {
	return REST{Outcome: RESTUnreachable, Error: "dial tcp 10.0.0.7:8081: connect: connection refused"}
}
func answeredGarbage(s string) REST {
	return REST{Outcome: RESTAnswered, JobFound: true, JobState: messages.JobState(s)}
}
func rec(s messages.JobState, since time.Time) Record { return Record{State: s, Since: since} }

// Kubernetes observations.
var (
	kubeUnknown = Kube{Outcome: KubeUnknown}
	kubeAbsent  = Kube{Outcome: KubeAbsent}
)

// ready is a present Deployment whose JobManager pod became ready at since.
func ready(since time.Time) Kube { return Kube{Outcome: KubePresent, Ready: true, ReadySince: since} }

// pulling is a present Deployment whose pod is pulling its image.
func pulling() Kube {
	return Kube{Outcome: KubePresent, Waiting: []Problem{{
		Code: ReasonContainerCreating, KubeReason: "ContainerCreating", Pod: "wc-1", Container: "flink-main-container",
		Message: "pod wc-1, container flink-main-container: ContainerCreating",
	}}}
}

// unschedulable is a present Deployment whose pod cannot be scheduled.
func unschedulable() Kube {
	return Kube{Outcome: KubePresent, Waiting: []Problem{{
		Code: ReasonPodUnschedulable, KubeReason: "Unschedulable", Pod: "wc-1",
		Message: "pod wc-1: Unschedulable: 0/3 nodes are available: 3 Insufficient cpu.",
	}}}
}

// broken is a present Deployment whose container waits with a fatal reason.
func broken(kubeReason, code string, restarts int32) Kube {
	return Kube{Outcome: KubePresent, Problems: []Problem{{
		Code: code, KubeReason: kubeReason, Pod: "wc-1", Container: "flink-main-container",
		Message: "pod wc-1, container flink-main-container: " + kubeReason, RestartCount: restarts,
	}}}
}

// withReady marks k's JobManager ready since t (a sidecar may still fail).
func withReady(k Kube, t time.Time) Kube { k.Ready, k.ReadySince = true, t; return k }

// apply is the record a store holds after d was decided at now.
func apply(prev Record, d Decision, now time.Time) Record {
	next := Record{State: d.State, Since: prev.Since, SilentSince: d.SilentSince, Reason: prev.Reason}
	if d.State != prev.State {
		next.Since, next.Reason = now, d.Reason
	}
	return next
}

// step is one round of a scenario.
type step struct {
	at   time.Duration
	rest REST
	kube Kube
	want messages.JobState
}

// run plays steps from prev and returns the final record; it fails on the
// first step whose state is not the wanted one.
func run(t interface {
	Helper()
	Fatalf(string, ...any)
}, mode messages.Mode, prev Record, steps []step) Record {
	t.Helper()
	for i, s := range steps {
		d := Decide(mode, prev, Observation{Time: at(s.at), REST: s.rest, Kube: s.kube}, Config{})
		if d.State != s.want {
			t.Fatalf("step %d (t+%s): Decide(%s from %s) = %s (%s: %s), want %s", i, s.at, mode, prev.State, d.State, d.Reason, d.Message, s.want)
		}
		prev = apply(prev, d, at(s.at))
	}
	return prev
}
