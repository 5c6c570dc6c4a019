package state

import (
	"fmt"
	"time"

	"github.com/flinkferry/flinkferry/messages"
)

// Decide returns a job's state after one tracking round, from the
// previous decision, the round's observation and the limits in cfg (zero
// fields take the defaults). It is deterministic and idempotent: applying
// its decision and deciding again on the same observation keeps the
// state. The rules, in order (docs/tracking.md explains each):
//
//  1. FINISHED, FAILED, CANCELED and TERMINATED never change.
//  2. A terminal state read from REST (FINISHED, FAILED, CANCELED) wins.
//  3. A Deployment observed absent (informer synced) ends a job seen
//     before as TERMINATED; DEPLOY_FAILED keeps its cause; STARTING waits
//     for StartTimeout, then DEPLOY_FAILED (deployment_missing). A
//     JobManager answering REST in this round is not gone yet.
//  4. A job state read from REST wins over Kubernetes; on a round without
//     REST, the last state read stands.
//  5. A JobManager container that cannot start is DEPLOY_FAILED.
//  6. DEPLOY_FAILED stays until the JobManager is ready again.
//  7. A JobManager that Kubernetes is still starting is K8S_INITIALIZING,
//     also once ready, for StartTimeout, while REST does not answer.
//  8. Otherwise REST's silence (no answer, job not listed) is SILENT, and
//     LOST after SilentKeep; Kubernetes unknown is never "gone". A job
//     already SILENT or LOST stays on this clock whatever its pod's age,
//     unless the pod became ready after the silence began (rule 7).
//
// Mode session decides a job from its session cluster's Deployment; mode
// session-cluster decides the cluster itself, RUNNING while its REST API
// answers. An unknown mode is decided like application.
func Decide(mode messages.Mode, prev Record, obs Observation, cfg Config) Decision {
	cfg.SetDefaults()
	r := round{mode: mode, prev: prev, ps: prev.State, now: obs.Time, kube: obs.Kube, cfg: cfg}
	if !r.ps.IsKnown() && !isFlinkState(r.ps) {
		r.ps = messages.StateStarting // never decided, or unreadable
	}
	r.ev = r.evidence(obs.REST)
	return r.decide()
}

// round is one evaluation of Decide.
type round struct {
	mode messages.Mode
	prev Record
	ps   messages.JobState // prev.State, empty read as STARTING
	now  time.Time
	ev   evidence
	kube Kube
	cfg  Config
}

// evidenceKind is what REST tells about the job in a round.
type evidenceKind int

const (
	evNone      evidenceKind = iota // no news: not polled, and REST never told anything
	evFound                         // the job is listed in state (mode session-cluster: the cluster answered)
	evNotListed                     // the JobManager answered without the job
	evSilent                        // REST did not answer
)

// evidence is REST's word on the job, this round's or carried over.
type evidence struct {
	kind            evidenceKind
	state           messages.JobState
	fresh           bool // read in this round, not carried over from the previous state
	reason, message string
}

func (r *round) evidence(rest REST) evidence {
	switch rest.Outcome {
	case RESTAnswered:
		switch {
		case r.mode == messages.ModeSessionCluster:
			return evidence{kind: evFound, state: messages.StateRunning, fresh: true}
		case !rest.JobFound:
			return evidence{kind: evNotListed, fresh: true, reason: ReasonJobNotListed,
				message: "the JobManager answers but does not list the job in /jobs/overview"}
		case !isFlinkState(rest.JobState):
			return evidence{kind: evSilent, fresh: true, reason: ReasonRESTInvalidState,
				message: clip(fmt.Sprintf("the JobManager lists the job in state %q, not a Flink job state", rest.JobState))}
		}
		return evidence{kind: evFound, state: rest.JobState, fresh: true}
	case RESTUnreachable:
		msg := "the JobManager's REST API does not answer"
		if rest.Error != "" {
			msg += ": " + clip(rest.Error)
		}
		return evidence{kind: evSilent, fresh: true, reason: ReasonRESTUnreachable, message: msg}
	}
	// Not polled: the last REST answer, recorded in the previous state, stands.
	switch {
	case isFlinkState(r.ps):
		return evidence{kind: evFound, state: r.ps}
	case r.ps == messages.StateSilent || r.ps == messages.StateLost:
		reason := r.prev.Reason
		if reason == "" {
			reason = ReasonRESTUnreachable
		}
		return evidence{kind: evSilent, reason: reason, message: "no news of the job from the JobManager's REST API"}
	}
	return evidence{kind: evNone}
}

func (r *round) decide() Decision {
	ps, ev, kube := r.ps, r.ev, r.kube
	// 1. Final states stay.
	if isFinal(ps) {
		return Decision{State: ps, Reason: r.prev.Reason, StopPolling: true, Final: true}
	}
	// 2. A terminal state read from REST wins.
	if ev.kind == evFound && isFlinkTerminal(ev.state) {
		return Decision{State: ev.state, StopPolling: true, Final: true}
	}
	// 3. Gone. A JobManager answering in this round is not gone yet (the
	// informer lags at start; a deleted Deployment's pod still runs for
	// its grace period): the next round decides.
	answering := ev.fresh && (ev.kind == evFound || ev.kind == evNotListed)
	if kube.Outcome == KubeAbsent && !answering {
		switch ps {
		case messages.StateStarting:
			return r.startingWithoutDeployment()
		case messages.StateDeployFailed:
			return r.keep()
		}
		return r.terminated()
	}
	// 4. REST's word on the job wins over Kubernetes.
	if ev.kind == evFound {
		return Decision{State: ev.state}
	}
	// 5. A JobManager that cannot start.
	if kube.Outcome == KubePresent {
		if p, ok := r.fatal(); ok {
			return r.deployFailed(p)
		}
	}
	// 6. DEPLOY_FAILED until the JobManager is ready again.
	if ps == messages.StateDeployFailed {
		if kube.Outcome != KubePresent || !kube.Ready {
			return r.keep()
		}
		d := r.present()
		if d.State == messages.StateK8sInitializing {
			d.Reason, d.Message = ReasonDeployRecovered, "the JobManager is ready again ("+d.Message+")"
		}
		return d
	}
	// 7 and 8.
	if kube.Outcome == KubePresent {
		return r.present()
	}
	return r.unknown()
}

// present decides a JobManager Deployment that exists and shows no
// failure, while REST gives no job state.
func (r *round) present() Decision {
	k := r.kube
	if r.ev.kind == evNotListed && r.seen() {
		return r.silent(r.ev.reason, r.ev.message)
	}
	if k.ScaledToZero {
		msg := "the JobManager Deployment is scaled to 0 replicas"
		if r.ev.kind == evNone {
			return r.initializing(ReasonScaledToZero, msg)
		}
		return r.silent(ReasonScaledToZero, msg)
	}
	if !k.Ready {
		p := r.waiting()
		return r.initializing(p.Code, p.Message)
	}
	// The JobManager answered (a Flink state entered) since its pod became
	// ready: its silence now is silence, not a start.
	if isFlinkState(r.ps) && r.ev.kind == evSilent && !k.ReadySince.IsZero() && r.prev.Since.After(k.ReadySince) {
		return r.silent(r.ev.reason, r.ev.message)
	}
	// A job seen and gone quiet stays on the silent clock whatever the
	// pod's age: a pod ready since before the silence began is not
	// starting, and only a pod ready after it (recreated, restarted) gets
	// StartTimeout again. Without this, an unchanged observation moved
	// SILENT back to K8S_INITIALIZING and LOST came StartTimeout late.
	if (r.ps == messages.StateSilent || r.ps == messages.StateLost) && !r.readySinceSilence() {
		return r.silent(r.ev.reason, r.ev.message)
	}
	since := k.ReadySince
	if r.waitingState() && r.prev.Since.After(since) {
		since = r.prev.Since
	}
	if r.ev.kind == evNone || (!since.IsZero() && r.now.Sub(since) < r.cfg.StartTimeout) {
		if r.ev.kind == evNotListed {
			return r.initializing(ReasonJobNotListed, "the JobManager is up and does not list the job yet")
		}
		return r.initializing(ReasonJobManagerStarting, "the JobManager pod is ready; its REST API does not answer yet")
	}
	return r.silent(r.ev.reason, r.ev.message)
}

// readySinceSilence reports a JobManager pod that became ready after the
// previous silence began (SilentSince, or Since for a record without it):
// a recreated or restarted JobManager. An unknown readiness time is not.
func (r *round) readySinceSilence() bool {
	began := r.prev.SilentSince
	if began.IsZero() {
		began = r.prev.Since
	}
	return !r.kube.ReadySince.IsZero() && !began.IsZero() && r.kube.ReadySince.After(began)
}

// unknown decides a job whose Deployment Kubernetes cannot tell about
// (or that an answering JobManager contradicts), while REST gives no job
// state. Nothing here fails or terminates a job.
func (r *round) unknown() Decision {
	if r.ev.kind == evNotListed && r.seen() {
		return r.silent(r.ev.reason, r.ev.message)
	}
	switch r.ps {
	case messages.StateStarting:
		if r.ev.kind == evNotListed {
			return r.initializing(ReasonJobNotListed, "the JobManager is up and does not list the job yet")
		}
		return Decision{State: messages.StateStarting}
	case messages.StateK8sInitializing:
		if r.ev.kind != evNone && !r.prev.Since.IsZero() && r.now.Sub(r.prev.Since) >= r.cfg.StartTimeout {
			return r.silent(r.ev.reason, r.ev.message)
		}
		return r.keep()
	}
	if r.ev.kind == evNone {
		return r.keep()
	}
	return r.silent(r.ev.reason, r.ev.message)
}

// startingWithoutDeployment decides a STARTING job whose Deployment is
// observed absent: not created yet, or the informer has not seen it yet.
func (r *round) startingWithoutDeployment() Decision {
	if r.prev.Since.IsZero() || r.now.Sub(r.prev.Since) < r.cfg.StartTimeout {
		return Decision{State: messages.StateStarting}
	}
	if r.mode == messages.ModeSession {
		return Decision{State: messages.StateDeployFailed, Reason: ReasonSessionClusterMissing, StopPolling: true,
			Message: fmt.Sprintf("no JobManager Deployment of the session cluster %s after submission", r.cfg.StartTimeout)}
	}
	return Decision{State: messages.StateDeployFailed, Reason: ReasonDeploymentMissing, StopPolling: true,
		Message: fmt.Sprintf("no JobManager Deployment %s after submission", r.cfg.StartTimeout)}
}

func (r *round) terminated() Decision {
	reason, msg := ReasonDeploymentDeleted, "the JobManager Deployment was deleted before a final job state was read"
	switch r.mode {
	case messages.ModeSession:
		reason, msg = ReasonSessionClusterDeleted, "the session cluster's JobManager Deployment was deleted before a final job state was read"
	case messages.ModeSessionCluster:
		msg = "the session cluster's JobManager Deployment was deleted"
	}
	return Decision{State: messages.StateTerminated, Reason: reason, Message: msg, StopPolling: true, Final: true}
}

// fatal returns the first problem that fails the deployment.
func (r *round) fatal() (Problem, bool) {
	for _, p := range r.kube.Problems {
		if r.restarting(p) {
			continue
		}
		return p, true
	}
	return Problem{}, false
}

// restarting reports a crash loop still below CrashLoopRestarts.
func (r *round) restarting(p Problem) bool {
	return p.KubeReason == "CrashLoopBackOff" && p.RestartCount < r.cfg.CrashLoopRestarts
}

// waiting returns why a present JobManager is not ready.
func (r *round) waiting() Problem {
	for _, p := range r.kube.Problems {
		if r.restarting(p) {
			return Problem{Code: ReasonContainerRestarting, Message: p.Message}
		}
	}
	if len(r.kube.Waiting) > 0 {
		return r.kube.Waiting[0]
	}
	return Problem{Code: ReasonJobManagerNotReady, Message: "the JobManager pod is not ready"}
}

func (r *round) deployFailed(p Problem) Decision {
	msg := p.Message
	if r.mode == messages.ModeSession {
		msg = "session cluster: " + msg
	}
	return Decision{State: messages.StateDeployFailed, Reason: p.Code, Message: msg, StopPolling: true}
}

func (r *round) initializing(reason, msg string) Decision {
	return Decision{State: messages.StateK8sInitializing, Reason: reason, Message: msg}
}

// silent returns SILENT, or LOST once silent for SilentKeep. LOST stays
// LOST while the silence lasts.
func (r *round) silent(reason, msg string) Decision {
	var since time.Time
	if r.ps == messages.StateSilent || r.ps == messages.StateLost {
		since = r.prev.SilentSince
	}
	if since.IsZero() {
		since = r.now
	}
	if r.ps == messages.StateLost || r.now.Sub(since) >= r.cfg.SilentKeep {
		return Decision{State: messages.StateLost, Reason: reason, SilentSince: since,
			Message: fmt.Sprintf("silent for %s or more: %s", r.cfg.SilentKeep, msg)}
	}
	return Decision{State: messages.StateSilent, Reason: reason, Message: msg, SilentSince: since}
}

// keep returns the previous state unchanged (never SILENT or LOST: silent
// decides those).
func (r *round) keep() Decision {
	return Decision{State: r.ps, Reason: r.prev.Reason, StopPolling: r.ps.IsTerminal(), Final: isFinal(r.ps)}
}

// seen reports that REST has listed the job before: the previous state is
// neither STARTING, K8S_INITIALIZING nor DEPLOY_FAILED.
func (r *round) seen() bool { return !r.waitingState() }

// waitingState reports a previous state in which the job has not been
// listed by REST yet.
func (r *round) waitingState() bool {
	switch r.ps {
	case messages.StateStarting, messages.StateK8sInitializing, messages.StateDeployFailed:
		return true
	}
	return false
}

// isFinal reports the states no observation changes.
func isFinal(s messages.JobState) bool {
	return s.IsTerminal() && s != messages.StateDeployFailed
}

// isFlinkTerminal reports Flink's globally terminal job states.
func isFlinkTerminal(s messages.JobState) bool {
	switch s {
	case messages.StateFinished, messages.StateFailed, messages.StateCanceled:
		return true
	}
	return false
}

// isFlinkState reports a job state Flink may report: one of Flink's, or
// an UPPER_SNAKE_CASE state of a newer Flink, but none of flinkferry's own.
func isFlinkState(s messages.JobState) bool {
	switch s {
	case messages.StateStarting, messages.StateK8sInitializing, messages.StateSilent,
		messages.StateLost, messages.StateTerminated, messages.StateDeployFailed:
		return false
	}
	if len(s) == 0 || len(s) > 64 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}
