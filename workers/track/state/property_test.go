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
	// Since and SilentSince of the previous record: unknown, set, both set.
	sinces := [][2]time.Time{{}, {t0, {}}, {t0, t0}}
	var cases []gridCase
	for _, mode := range modes {
		for _, st := range states {
			for _, since := range sinces {
				prev := Record{State: st, Since: since[0], SilentSince: since[1], Reason: ReasonRESTUnreachable}
				for _, tm := range []time.Duration{5 * sec, 90 * sec, 10 * min} {
					now := at(tm)
					kubes := []Kube{
						kubeUnknown, kubeAbsent, pulling(), unschedulable(), {Outcome: KubePresent},
						{Outcome: KubePresent, ScaledToZero: true}, {Outcome: KubePresent, Ready: true},
						ready(at(-time.Hour)), ready(now.Add(-5 * sec)), ready(now),
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
