package state

import (
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/messages"
)

// TestStreamPark3618_KubernetesAPIErrorIsNotFailure reproduces
// apache/incubator-streampark#3618: a transient Kubernetes API error was
// read as "Deployment gone", the job marked FAILED and tracking stopped
// for good. Here an API error is KubeUnknown: the job goes SILENT (and
// LOST after SilentKeep) while REST is also silent, polling never stops,
// and the job is RUNNING again as soon as REST answers.
func TestStreamPark3618_KubernetesAPIErrorIsNotFailure(t *testing.T) {
	jm := ready(at(-time.Hour))
	prev := run(t, messages.ModeApplication, rec(running, t0), []step{
		{5 * sec, notPolled(), kubeUnknown, running},      // the watch fails: nothing changes
		{10 * sec, listed(running), kubeUnknown, running}, // REST still answers
		{15 * sec, unreachable(), kubeUnknown, silent},    // both silent: SILENT, not FAILED
		{50 * sec, unreachable(), kubeUnknown, silent},
		{80 * sec, unreachable(), kubeUnknown, lost}, // silent for SilentKeep: LOST, still polled
		{10 * min, unreachable(), kubeUnknown, lost},
		{11 * min, listed(running), kubeUnknown, running}, // REST answers: tracking never stopped
		{12 * min, notPolled(), jm, running},              // the informer resyncs
	})
	if prev.State != running {
		t.Fatalf("final state %s, want RUNNING", prev.State)
	}
	// No round of an unknown Kubernetes ever stops polling.
	for _, r := range []REST{notPolled(), unreachable(), notListed(), listed(running)} {
		for _, s := range []messages.JobState{running, silent, lost, k8sInit, starting, restarting} {
			d := Decide(messages.ModeApplication, Record{State: s, Since: t0, SilentSince: t0}, Observation{Time: at(time.Hour), REST: r, Kube: kubeUnknown}, Config{})
			if d.StopPolling || d.State == failed || d.State == terminated || d.State == deployFail {
				t.Errorf("Decide(%s, %+v, Kubernetes unknown) = %s, StopPolling %v", s, r, d.State, d.StopPolling)
			}
		}
	}
}

// TestStreamPark2950_FinalStateSurvivesClusterShutdown reproduces
// apache/incubator-streampark#2950: finished jobs were shown as FAILED
// (and failed ones as FINISHED) because the final state was read after
// the application cluster had shut down. Here the terminal state read
// from REST is final: the cluster going away afterwards changes nothing,
// and a cluster that vanishes before a final state was read is
// TERMINATED, never guessed as FAILED or FINISHED.
func TestStreamPark2950_FinalStateSurvivesClusterShutdown(t *testing.T) {
	jm := ready(at(-time.Hour))
	for _, final := range []messages.JobState{finished, failed, canceled} {
		t.Run(string(final), func(t *testing.T) {
			run(t, messages.ModeApplication, rec(running, t0), []step{
				{5 * sec, listed(final), jm, final},
				{10 * sec, unreachable(), jm, final},         // the JobManager shuts down
				{15 * sec, unreachable(), kubeAbsent, final}, // the Deployment is deleted
				{20 * sec, notPolled(), kubeAbsent, final},
				{10 * min, unreachable(), kubeUnknown, final},
			})
		})
	}
	t.Run("cluster gone before a final state was read", func(t *testing.T) {
		run(t, messages.ModeApplication, rec(running, t0), []step{
			{5 * sec, listed(running), jm, running},
			{10 * sec, unreachable(), kubeAbsent, terminated},
			{15 * sec, listed(finished), jm, terminated}, // a late answer does not rewrite history
		})
	})
	t.Run("JobManager still answering while its Deployment is deleted", func(t *testing.T) {
		run(t, messages.ModeApplication, rec(running, t0), []step{
			{5 * sec, listed(running), kubeAbsent, running}, // pod in its grace period
			{6 * sec, listed(finished), kubeAbsent, finished},
			{10 * sec, unreachable(), kubeAbsent, finished},
		})
	})
}

// TestStreamPark2996_ImagePullIsNotFailure reproduces
// apache/incubator-streampark#2996: a job whose JobManager was still
// pulling its image was declared failed and killed shortly after
// submission. Here a Deployment whose pod is pulling, creating its
// containers or waiting for a node is K8S_INITIALIZING for as long as it
// takes, past StartTimeout and SilentKeep, and polling goes on.
func TestStreamPark2996_ImagePullIsNotFailure(t *testing.T) {
	steps := []step{{2 * sec, notPolled(), kubeAbsent, starting}} // informer not there yet
	for at := 5 * sec; at <= 15*min; at += 30 * sec {
		steps = append(steps, step{at, unreachable(), pulling(), k8sInit})
		steps = append(steps, step{at + 10*sec, notPolled(), unschedulable(), k8sInit})
	}
	steps = append(steps,
		step{16 * min, unreachable(), ready(at(16*min - 2*sec)), k8sInit}, // pulled, JVM starting
		step{16*min + 10*sec, notListed(), ready(at(16*min - 2*sec)), k8sInit},
		step{16*min + 20*sec, listed(initializng), ready(at(16*min - 2*sec)), initializng},
		step{16*min + 30*sec, listed(running), ready(at(16*min - 2*sec)), running},
	)
	run(t, messages.ModeApplication, rec(starting, t0), steps)
}

// TestDeployFailedRecovers shows the decision on DEPLOY_FAILED from a
// container error: REST polling stops, Kubernetes observations go on, and
// a JobManager that becomes ready (the registry came back) brings the job
// back to K8S_INITIALIZING, then to Flink's state once polling resumes.
func TestDeployFailedRecovers(t *testing.T) {
	pullFails := broken("ImagePullBackOff", ReasonImagePullFailed, 0)
	d := Decide(messages.ModeApplication, rec(k8sInit, t0), Observation{Time: at(20 * sec), REST: unreachable(), Kube: pullFails}, Config{})
	if d.State != deployFail || !d.StopPolling || d.Final {
		t.Fatalf("Decide() = %s StopPolling %v Final %v, want DEPLOY_FAILED, StopPolling, not Final", d.State, d.StopPolling, d.Final)
	}
	run(t, messages.ModeApplication, rec(k8sInit, t0), []step{
		{20 * sec, unreachable(), pullFails, deployFail},
		{5 * min, notPolled(), pullFails, deployFail},
		{6 * min, notPolled(), pulling(), deployFail}, // pulling again is not recovery yet
		{7 * min, notPolled(), ready(at(7 * min)), k8sInit},
		{7*min + 10*sec, listed(running), ready(at(7 * min)), running},
	})
}

// TestSessionClusterStates walks a session cluster's life: its state is
// the cluster's own, RUNNING while its REST API answers.
func TestSessionClusterStates(t *testing.T) {
	jm := ready(at(40 * sec))
	run(t, messages.ModeSessionCluster, Record{}, []step{
		{1 * sec, notPolled(), kubeAbsent, starting},
		{5 * sec, notPolled(), pulling(), k8sInit},
		{45 * sec, unreachable(), jm, k8sInit},
		{50 * sec, notListed(), jm, running}, // any well-formed answer
		{10 * min, unreachable(), jm, silent},
		{10*min + 5*sec, notListed(), jm, running},
		{20 * min, unreachable(), jm, silent},
		{22 * min, unreachable(), jm, lost},
		{23 * min, unreachable(), kubeAbsent, terminated},
	})
}

// TestSessionJobVanishes decides that a job missing from a reachable
// session cluster's /jobs/overview (its final state was never read) is
// SILENT, then LOST after SilentKeep: flinkferry cannot know how it ended.
func TestSessionJobVanishes(t *testing.T) {
	cl := ready(at(-24 * time.Hour))
	run(t, messages.ModeSession, rec(starting, t0), []step{
		{3 * sec, listed(running), cl, running},
		{10 * min, notListed(), cl, silent},
		{11 * min, notListed(), cl, lost},
		{12 * min, listed(running), cl, running}, // it was there after all
	})
}
