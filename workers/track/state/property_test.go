package state

import (
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/messages"
)

// grid is every combination of previous record and observation the
// property tests check.
type gridCase struct {
	mode messages.Mode
	prev Record
	obs  Observation
}

// grid returns the cases, built once.
var grid = sync.OnceValue(buildGrid)

func buildGrid() []gridCase {
	modes := []messages.Mode{messages.ModeApplication, messages.ModeSession, messages.ModeSessionCluster, "future-mode"}
	states := append([]messages.JobState{"", "DRAINING", "bogus"}, messages.JobStates()...)
	var rests []REST
	rests = append(rests, notPolled(), unreachable(), notListed(), REST{Outcome: 42}, answeredGarbage("running"), answeredGarbage("LOST"), answeredGarbage(""))
	for _, s := range []messages.JobState{initializng, running, restarting, suspended, failed, finished, canceled, "DRAINING"} {
		rests = append(rests, listed(s))
	}
	var cases []gridCase
	for _, mode := range modes {
		for _, st := range states {
			for _, tm := range []time.Duration{5 * sec, 90 * sec, 10 * min} {
				now := at(tm)
				// Since and SilentSince of the previous record: unknown,
				// set, both set, and set shortly before the round, so that
				// a JobManager ready for less than StartTimeout was ready
				// before the state (or the silence) began.
				sinces := [][2]time.Time{{}, {t0, {}}, {t0, t0}, {now.Add(-5 * sec), now.Add(-5 * sec)}, {now.Add(-90 * sec), now.Add(-50 * sec)}}
				for _, since := range sinces {
					prev := Record{State: st, Since: since[0], SilentSince: since[1], Reason: ReasonRESTUnreachable}
					kubes := []Kube{
						kubeUnknown, kubeAbsent, pulling(), unschedulable(), {Outcome: KubePresent},
						{Outcome: KubePresent, ScaledToZero: true}, {Outcome: KubePresent, Ready: true},
						ready(at(-time.Hour)), ready(now.Add(-5 * sec)), ready(now),
						// Ready for 10 s, 60 s and 10 min: within and past StartTimeout.
						ready(now.Add(-10 * sec)), ready(now.Add(-60 * sec)), ready(now.Add(-10 * min)),
						broken("ImagePullBackOff", ReasonImagePullFailed, 0),
						broken("CrashLoopBackOff", ReasonCrashLoop, 1),
						broken("CrashLoopBackOff", ReasonOOMKilled, 5),
						withReady(broken("CrashLoopBackOff", ReasonCrashLoop, 5), at(-time.Hour)),
						{Outcome: 9},
					}
					for _, k := range kubes {
						for _, r := range rests {
							cases = append(cases, gridCase{mode, prev, Observation{Time: now, REST: r, Kube: k}})
						}
					}
				}
			}
		}
	}
	return cases
}

func (c gridCase) String() string {
	return fmt.Sprintf("mode %s, prev %+v, t+%s, REST %+v, Kube %+v", c.mode, c.prev, c.obs.Time.Sub(t0), c.obs.REST, c.obs.Kube)
}

// TestDecideProperties checks, over every combination of the grid, that
// Decide is deterministic, idempotent (deciding again on the applied
// decision and the same observation changes nothing: replicas and
// redeliveries repeat rounds), consistent in its flags, and emits only
// valid states and reason codes.
func TestDecideProperties(t *testing.T) {
	reasonPattern := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	cases := grid()
	t.Logf("%d combinations", len(cases))
	fails := 0
	fail := func(format string, args ...any) {
		t.Errorf(format, args...)
		if fails++; fails > 20 {
			t.FailNow()
		}
	}
	for _, c := range cases {
		d := Decide(c.mode, c.prev, c.obs, Config{})
		if again := Decide(c.mode, c.prev, c.obs, Config{}); d != again {
			fail("not deterministic: %s: %+v then %+v", c, d, again)
		}
		next := apply(c.prev, d, c.obs.Time)
		if d2 := Decide(c.mode, next, c.obs, Config{}); d2.State != d.State || !d2.SilentSince.Equal(d.SilentSince) {
			fail("not idempotent: %s: %s (silent since %v), then %s (silent since %v)", c, d.State, d.SilentSince, d2.State, d2.SilentSince)
		}
		if d.StopPolling != d.State.IsTerminal() || d.Final != (d.State.IsTerminal() && d.State != deployFail) {
			fail("flags: %s: %+v", c, d)
		}
		if (d.State == silent || d.State == lost) != !d.SilentSince.IsZero() {
			fail("SilentSince: %s: %+v", c, d)
		}
		if d.Reason != "" && (len(d.Reason) > 64 || !reasonPattern.MatchString(d.Reason)) {
			fail("reason %q is not a reason code: %s", d.Reason, c)
		}
		if prevState := c.prev.State; (prevState == "" || prevState.IsKnown() || isFlinkState(prevState)) && !isFlinkState(d.State) && !d.State.IsKnown() {
			fail("state %q is neither known nor a Flink state: %s", d.State, c)
		}
		if isFinal(c.prev.State) && d.State != c.prev.State {
			fail("final state changed: %s: %s", c, d.State)
		}
	}
}

// TestSameObservationLaterKeepsTheState checks, over the grid, that every
// state a round decides (from every previous state, SILENT with a recently
// ready JobManager and LOST included) survives the same observation a
// poll interval later, except for the documented timeouts: SILENT becomes
// LOST after SilentKeep, K8S_INITIALIZING becomes SILENT after
// StartTimeout, STARTING with no Deployment becomes DEPLOY_FAILED after
// StartTimeout. An unchanged observation never moves a job anywhere else
// (SILENT back to K8S_INITIALIZING restarted its clock).
func TestSameObservationLaterKeepsTheState(t *testing.T) {
	timeouts := map[[2]messages.JobState]bool{
		{silent, lost}: true, {k8sInit, silent}: true, {starting, deployFail}: true,
	}
	fails := 0
	for _, c := range grid() {
		d := Decide(c.mode, c.prev, c.obs, Config{})
		next := apply(c.prev, d, c.obs.Time)
		later := c.obs
		later.Time = later.Time.Add(5 * sec)
		d2 := Decide(c.mode, next, later, Config{})
		if d2.State == d.State || timeouts[[2]messages.JobState{d.State, d2.State}] {
			continue
		}
		t.Errorf("%s: %s (%s), then %s (%s) on the same observation 5s later", c, d.State, d.Reason, d2.State, d2.Reason)
		if fails++; fails > 20 {
			t.FailNow()
		}
	}
}

// TestSilentStaysOnTheSilentClock checks, over the grid, that a job seen
// and gone quiet (SILENT or LOST) whose REST API stays silent is SILENT,
// then LOST SilentKeep after SilentSince, whatever its JobManager pod's
// age: a pod ready since before the silence began is not restarting. Only
// Kubernetes' own news (a pod not ready, a container failing, the
// Deployment deleted or scaled to zero, a pod ready after the silence
// began) takes it elsewhere.
func TestSilentStaysOnTheSilentClock(t *testing.T) {
	cfg := Config{}
	cfg.SetDefaults()
	n := 0
	for _, c := range grid() {
		k, p := c.obs.Kube, c.prev
		if (p.State != silent && p.State != lost) || p.SilentSince.IsZero() || c.obs.REST.Outcome == RESTAnswered && isFlinkState(c.obs.REST.JobState) && c.obs.REST.JobFound {
			continue
		}
		if c.obs.REST.Outcome == RESTAnswered && c.mode == messages.ModeSessionCluster {
			continue // the cluster answered: RUNNING
		}
		if k.Outcome != KubeUnknown && (k.Outcome != KubePresent || !k.Ready || len(k.Problems) > 0 || k.ScaledToZero || k.ReadySince.After(p.SilentSince)) {
			continue
		}
		n++
		want := silent
		if p.State == lost || c.obs.Time.Sub(p.SilentSince) >= cfg.SilentKeep {
			want = lost
		}
		if d := Decide(c.mode, p, c.obs, Config{}); d.State != want || !d.SilentSince.Equal(p.SilentSince) {
			t.Fatalf("%s: %s (%s, silent since %v), want %s silent since %v", c, d.State, d.Reason, d.SilentSince, want, p.SilentSince)
		}
	}
	if n < 1000 {
		t.Fatalf("only %d SILENT/LOST cases with a silent REST API in the grid", n)
	}
	t.Logf("%d cases", n)
}

// TestKubernetesUnknownNeverEnds checks, over the grid, that a Kubernetes
// "unknown" (API error, informer not synced) never produces TERMINATED,
// DEPLOY_FAILED or FAILED: those come only from a previous state or, for
// FAILED, from REST itself.
func TestKubernetesUnknownNeverEnds(t *testing.T) {
	n := 0
	for _, c := range grid() {
		if c.obs.Kube.Outcome == KubeAbsent || c.obs.Kube.Outcome == KubePresent {
			continue
		}
		n++
		d := Decide(c.mode, c.prev, c.obs, Config{})
		if d.State == c.prev.State {
			continue
		}
		switch {
		case d.State == terminated, d.State == deployFail:
			t.Fatalf("Kubernetes unknown gave %s: %s", d.State, c)
		case d.State == failed && !(c.obs.REST.Outcome == RESTAnswered && c.obs.REST.JobState == failed):
			t.Fatalf("Kubernetes unknown gave FAILED without REST saying so: %s", c)
		}
	}
	if n == 0 {
		t.Fatal("no Kubernetes-unknown case in the grid")
	}
}

// TestStartingJobManagerNeverFails checks, over the grid, the rule behind
// StreamPark #2996: a Deployment that shows no container failure (image
// pulling, pending, not ready, ready) never makes a job FAILED,
// DEPLOY_FAILED or TERMINATED; only REST or a previous state can.
func TestStartingJobManagerNeverFails(t *testing.T) {
	for _, c := range grid() {
		k := c.obs.Kube
		if k.Outcome != KubePresent || len(k.Problems) > 0 {
			continue
		}
		d := Decide(c.mode, c.prev, c.obs, Config{})
		if d.State == c.prev.State || (c.obs.REST.Outcome == RESTAnswered && c.obs.REST.JobState == d.State) {
			continue
		}
		if d.State == failed || d.State == deployFail || d.State == terminated {
			t.Fatalf("a starting JobManager gave %s: %s", d.State, c)
		}
	}
}

// TestReasonsAreValidStatusEvents builds a JobStatusChanged for every
// reason code and checks that the message contract accepts it.
func TestReasonsAreValidStatusEvents(t *testing.T) {
	reasons := []string{
		ReasonImagePullFailed, ReasonImageNotPresent, ReasonInvalidImageName, ReasonImageInspectFailed,
		ReasonContainerConfigError, ReasonContainerCreateError, ReasonContainerRunError, ReasonContainerHookFailed,
		ReasonCrashLoop, ReasonOOMKilled, ReasonReplicaFailure, ReasonDeploymentMissing, ReasonSessionClusterMissing,
		ReasonContainerCreating, ReasonPodInitializing, ReasonContainerWaiting, ReasonContainerRestarting,
		ReasonPodUnschedulable, ReasonPodPending, ReasonPodMissing, ReasonPodEvicted, ReasonPodFailed,
		ReasonJobManagerNotReady, ReasonJobManagerStarting, ReasonDeployRecovered, ReasonJobNotListed,
		ReasonRESTUnreachable, ReasonRESTInvalidState, ReasonScaledToZero, ReasonDeploymentDeleted,
		ReasonSessionClusterDeleted,
	}
	for _, k := range kubeReasons {
		reasons = append(reasons, k.code)
	}
	for _, r := range reasons {
		ev := messages.JobStatusChanged{
			RequestID: "req-1", Job: messages.JobRef{Namespace: "flink-jobs", ClusterID: "wordcount"},
			Mode: messages.ModeApplication, FlinkJobID: "0123456789abcdef0123456789abcdef",
			From: starting, To: deployFail, Reason: r, Message: "m", Time: t0,
		}
		if err := ev.Validate(); err != nil {
			t.Errorf("JobStatusChanged with reason %q: %v", r, err)
		}
	}
}
