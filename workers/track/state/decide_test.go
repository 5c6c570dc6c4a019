package state

import (
	"strings"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/messages"
)

// TestDecideRules walks every precedence rule of Decide (numbered as in
// its doc comment and docs/tracking.md) with the (previous state ×
// observation) cases that matter.
func TestDecideRules(t *testing.T) {
	app, session, cluster := messages.ModeApplication, messages.ModeSession, messages.ModeSessionCluster
	dfImage := Record{State: deployFail, Since: t0, Reason: ReasonImagePullFailed}
	dfMissing := Record{State: deployFail, Since: t0, Reason: ReasonDeploymentMissing}
	silentAt0 := Record{State: silent, Since: t0, SilentSince: t0, Reason: ReasonRESTUnreachable}
	lostAt0 := Record{State: lost, Since: at(time.Minute), SilentSince: t0, Reason: ReasonRESTUnreachable}
	sidecarCrash := withReady(broken("CrashLoopBackOff", ReasonCrashLoop, 7), at(-time.Hour))
	sidecarCrash.Problems[0].Container = "log-shipper"
	for _, tt := range []struct {
		name       string
		mode       messages.Mode
		prev       Record
		at         time.Duration
		rest       REST
		kube       Kube
		want       messages.JobState
		wantReason string
	}{
		// 1. Final states stay.
		{"1 FINISHED stays even when REST lists the job RUNNING", app, rec(finished, t0), min, listed(running), ready(t0), finished, ""},
		{"1 FAILED stays when REST and the Deployment are gone", app, rec(failed, t0), min, unreachable(), kubeAbsent, failed, ""},
		{"1 CANCELED stays on a crash loop", app, rec(canceled, t0), min, unreachable(), broken("CrashLoopBackOff", ReasonCrashLoop, 9), canceled, ""},
		{"1 TERMINATED stays when a Deployment of the same name answers", app, rec(terminated, t0), min, listed(running), ready(t0), terminated, ""},

		// 2. A terminal REST state wins.
		{"2 REST FINISHED wins over a crash loop", app, rec(running, t0), min, listed(finished), broken("CrashLoopBackOff", ReasonCrashLoop, 9), finished, ""},
		{"2 REST FAILED wins over an absent Deployment", app, rec(running, t0), min, listed(failed), kubeAbsent, failed, ""},
		{"2 REST CANCELED wins over Kubernetes unknown", app, rec(cancelling, t0), min, listed(canceled), kubeUnknown, canceled, ""},
		{"2 REST FAILED replaces DEPLOY_FAILED", app, dfImage, min, listed(failed), kubeUnknown, failed, ""},
		{"2 REST FINISHED read at the first answer", app, rec(starting, t0), min, listed(finished), kubeUnknown, finished, ""},
		{"2 session job FAILED in a live session cluster", session, rec(running, t0), min, listed(failed), ready(t0), failed, ""},

		// 3. Gone.
		{"3 Deployment deleted while RUNNING, REST silent: TERMINATED", app, rec(running, t0), min, unreachable(), kubeAbsent, terminated, ReasonDeploymentDeleted},
		{"3 Deployment deletion seen on a Kubernetes-only round: TERMINATED", app, rec(running, t0), min, notPolled(), kubeAbsent, terminated, ReasonDeploymentDeleted},
		{"3 Deployment deleted while RESTARTING: TERMINATED", app, rec(restarting, t0), min, unreachable(), kubeAbsent, terminated, ReasonDeploymentDeleted},
		{"3 Deployment deleted while SILENT: TERMINATED", app, silentAt0, 30 * sec, unreachable(), kubeAbsent, terminated, ReasonDeploymentDeleted},
		{"3 Deployment deleted while LOST: TERMINATED", app, lostAt0, 5 * min, notPolled(), kubeAbsent, terminated, ReasonDeploymentDeleted},
		{"3 Deployment deleted while K8S_INITIALIZING: TERMINATED", app, rec(k8sInit, t0), min, unreachable(), kubeAbsent, terminated, ReasonDeploymentDeleted},
		{"3 deleted Deployment whose JobManager still answers RUNNING is not gone yet", app, rec(running, t0), min, listed(running), kubeAbsent, running, ""},
		{"3 deleted Deployment whose JobManager answers without the job: SILENT", app, rec(running, t0), min, notListed(), kubeAbsent, silent, ReasonJobNotListed},
		{"3 session cluster deleted under a session job: TERMINATED", session, rec(running, t0), min, unreachable(), kubeAbsent, terminated, ReasonSessionClusterDeleted},
		{"3 session cluster's own Deployment deleted: TERMINATED", cluster, rec(running, t0), min, unreachable(), kubeAbsent, terminated, ReasonDeploymentDeleted},
		{"3 DEPLOY_FAILED keeps its cause when the Deployment is deleted", app, dfImage, min, notPolled(), kubeAbsent, deployFail, ReasonImagePullFailed},
		{"3 STARTING without a Deployment yet stays STARTING", app, rec(starting, t0), 30 * sec, unreachable(), kubeAbsent, starting, ""},
		{"3 STARTING without a Deployment for StartTimeout: DEPLOY_FAILED", app, rec(starting, t0), 2 * min, unreachable(), kubeAbsent, deployFail, ReasonDeploymentMissing},
		{"3 session job without its session cluster for StartTimeout: DEPLOY_FAILED", session, rec(starting, t0), 2 * min, notPolled(), kubeAbsent, deployFail, ReasonSessionClusterMissing},
		{"3 a never-decided job without a Deployment is STARTING", app, Record{}, 10 * min, unreachable(), kubeAbsent, starting, ""},
		{"3 STARTING with a lagging informer and REST listing RUNNING: RUNNING", app, rec(starting, t0), 30 * sec, listed(running), kubeAbsent, running, ""},
		{"3 STARTING with Kubernetes unknown never times out", app, rec(starting, t0), 10 * min, unreachable(), kubeUnknown, starting, ""},

		// 4. REST's job state wins over Kubernetes.
		{"4 REST RUNNING", app, rec(starting, t0), 30 * sec, listed(running), ready(at(20 * sec)), running, ""},
		{"4 REST RUNNING wins over a crash-looping sidecar", app, rec(running, t0), min, listed(running), sidecarCrash, running, ""},
		{"4 REST RUNNING wins over a JobManager Kubernetes calls not ready", app, rec(running, t0), min, listed(running), pulling(), running, ""},
		{"4 a Kubernetes-only round keeps RUNNING despite a crash loop (the next poll decides)", app, rec(running, t0), min, notPolled(), broken("CrashLoopBackOff", ReasonCrashLoop, 7), running, ""},
		{"4 a Kubernetes-only round keeps RESTARTING", app, rec(restarting, t0), min, notPolled(), kubeUnknown, restarting, ""},
		{"4 RESTARTING is not terminal", app, rec(running, t0), min, listed(restarting), ready(t0), restarting, ""},
		{"4 FAILING is not terminal", app, rec(running, t0), min, listed(failing), ready(t0), failing, ""},
		{"4 SUSPENDED is reported as Flink says", app, rec(running, t0), min, listed(suspended), ready(t0), suspended, ""},
		{"4 RECONCILING is reported as Flink says", app, rec(k8sInit, t0), min, listed(reconciling), ready(t0), reconciling, ""},
		{"4 CANCELLING is reported as Flink says", app, rec(running, t0), min, listed(cancelling), ready(t0), cancelling, ""},
		{"4 CREATED is reported as Flink says", app, rec(k8sInit, t0), min, listed(created), ready(t0), created, ""},
		{"4 INITIALIZING is reported as Flink says", app, rec(k8sInit, t0), min, listed(initializng), ready(t0), initializng, ""},
		{"4 a newer Flink's state passes through", app, rec(running, t0), min, listed("DRAINING"), ready(t0), "DRAINING", ""},
		{"4 SILENT ends when REST answers", app, silentAt0, 30 * sec, listed(running), ready(t0), running, ""},
		{"4 LOST ends when REST answers", app, lostAt0, 10 * min, listed(running), kubeUnknown, running, ""},
		{"4 DEPLOY_FAILED ends when REST lists the job", app, dfImage, 10 * min, listed(running), ready(t0), running, ""},
		{"4 REST RUNNING with Kubernetes unknown", app, rec(k8sInit, t0), min, listed(running), kubeUnknown, running, ""},
		{"4 a session cluster answering REST is RUNNING", cluster, rec(k8sInit, t0), min, notListed(), ready(at(50 * sec)), running, ""},
		{"4 a lower-case state from REST is silence, not a state", app, rec(running, t0), min, answeredGarbage("running"), ready(at(-time.Hour)), silent, ReasonRESTInvalidState},
		{"4 REST claiming a flinkferry state is silence", app, rec(running, t0), min, answeredGarbage("TERMINATED"), ready(at(-time.Hour)), silent, ReasonRESTInvalidState},

		// 5. A JobManager that cannot start.
		{"5 ImagePullBackOff seen before any poll: DEPLOY_FAILED", app, rec(starting, t0), 20 * sec, notPolled(), broken("ImagePullBackOff", ReasonImagePullFailed, 0), deployFail, ReasonImagePullFailed},
		{"5 ErrImagePull while K8S_INITIALIZING: DEPLOY_FAILED", app, rec(k8sInit, t0), 20 * sec, unreachable(), broken("ErrImagePull", ReasonImagePullFailed, 0), deployFail, ReasonImagePullFailed},
		{"5 CreateContainerConfigError: DEPLOY_FAILED", app, rec(k8sInit, t0), 20 * sec, unreachable(), broken("CreateContainerConfigError", ReasonContainerConfigError, 0), deployFail, ReasonContainerConfigError},
		{"5 InvalidImageName: DEPLOY_FAILED", app, rec(starting, t0), 5 * sec, notPolled(), broken("InvalidImageName", ReasonInvalidImageName, 0), deployFail, ReasonInvalidImageName},
		{"5 CrashLoopBackOff from the 3rd restart: DEPLOY_FAILED", app, rec(running, t0), min, unreachable(), broken("CrashLoopBackOff", ReasonCrashLoop, 3), deployFail, ReasonCrashLoop},
		{"5 CrashLoopBackOff before the 3rd restart: K8S_INITIALIZING", app, rec(running, t0), min, unreachable(), broken("CrashLoopBackOff", ReasonCrashLoop, 2), k8sInit, ReasonContainerRestarting},
		{"5 a JobManager OOMKilled in a loop: DEPLOY_FAILED oom_killed", app, rec(running, t0), min, unreachable(), broken("CrashLoopBackOff", ReasonOOMKilled, 4), deployFail, ReasonOOMKilled},
		{"5 ReplicaFailure (quota): DEPLOY_FAILED", app, rec(k8sInit, t0), min, unreachable(), broken("FailedCreate", ReasonReplicaFailure, 0), deployFail, ReasonReplicaFailure},
		{"5 SILENT on a Kubernetes-only round with a crash loop: DEPLOY_FAILED", app, silentAt0, 30 * sec, notPolled(), broken("CrashLoopBackOff", ReasonCrashLoop, 5), deployFail, ReasonCrashLoop},
		{"5 a session job on a crash-looping session cluster: DEPLOY_FAILED", session, rec(running, t0), min, unreachable(), broken("CrashLoopBackOff", ReasonCrashLoop, 5), deployFail, ReasonCrashLoop},
		{"5 a session cluster that cannot pull its image: DEPLOY_FAILED", cluster, rec(starting, t0), 10 * sec, notPolled(), broken("ImagePullBackOff", ReasonImagePullFailed, 0), deployFail, ReasonImagePullFailed},

		// 6. DEPLOY_FAILED until the JobManager is ready.
		{"6 DEPLOY_FAILED stays while the pull still fails", app, dfImage, 5 * min, notPolled(), broken("ImagePullBackOff", ReasonImagePullFailed, 0), deployFail, ReasonImagePullFailed},
		{"6 DEPLOY_FAILED stays while the image is pulled again", app, dfImage, 5 * min, notPolled(), pulling(), deployFail, ReasonImagePullFailed},
		{"6 DEPLOY_FAILED stays while Kubernetes is unknown", app, dfImage, 5 * min, unreachable(), kubeUnknown, deployFail, ReasonImagePullFailed},
		{"6 DEPLOY_FAILED recovers when the JobManager is ready", app, dfImage, 5 * min, notPolled(), ready(at(5*min - 5*sec)), k8sInit, ReasonDeployRecovered},
		{"6 deployment_missing recovers when the Deployment turns up ready", app, dfMissing, 5 * min, notPolled(), ready(at(5*min - 5*sec)), k8sInit, ReasonDeployRecovered},

		// 7. Kubernetes is still starting the JobManager.
		{"7 Deployment seen, image pulling: K8S_INITIALIZING", app, rec(starting, t0), 5 * sec, notPolled(), pulling(), k8sInit, ReasonContainerCreating},
		{"7 image pulling for 10 minutes is still K8S_INITIALIZING", app, rec(k8sInit, t0), 10 * min, unreachable(), pulling(), k8sInit, ReasonContainerCreating},
		{"7 unschedulable pod: K8S_INITIALIZING", app, rec(starting, t0), 10 * min, unreachable(), unschedulable(), k8sInit, ReasonPodUnschedulable},
		{"7 pod running, not ready: K8S_INITIALIZING", app, rec(k8sInit, t0), min, unreachable(), Kube{Outcome: KubePresent}, k8sInit, ReasonJobManagerNotReady},
		{"7 ready 10s ago, REST not answering yet: K8S_INITIALIZING", app, rec(k8sInit, t0), 30 * sec, unreachable(), ready(at(20 * sec)), k8sInit, ReasonJobManagerStarting},
		{"7 application job not submitted yet: K8S_INITIALIZING", app, rec(k8sInit, t0), 30 * sec, notListed(), ready(at(20 * sec)), k8sInit, ReasonJobNotListed},
		{"7 a RUNNING job's JobManager pod recreated: K8S_INITIALIZING", app, rec(running, t0), 10 * min, unreachable(), pulling(), k8sInit, ReasonContainerCreating},
		{"7 a RUNNING job's JobManager restarted 5s ago: K8S_INITIALIZING", app, rec(running, t0), 10 * min, unreachable(), ready(at(10*min - 5*sec)), k8sInit, ReasonJobManagerStarting},
		{"7 a LOST job's JobManager pod recreated: K8S_INITIALIZING", app, lostAt0, 10 * min, unreachable(), pulling(), k8sInit, ReasonContainerCreating},
		{"7 a Kubernetes-only round never enters SILENT", app, rec(k8sInit, t0), 10 * min, notPolled(), ready(t0), k8sInit, ReasonJobManagerStarting},
		{"7 a recovered job with a long-ready JobManager before any poll: K8S_INITIALIZING", app, rec(starting, at(10*min)), 10 * min, notPolled(), ready(at(-time.Hour)), k8sInit, ReasonJobManagerStarting},
		{"7 a session job gets StartTimeout from its submission, not from the cluster's start", session, rec(starting, t0), 30 * sec, notListed(), ready(at(-24 * time.Hour)), k8sInit, ReasonJobNotListed},
		{"7 a session cluster starting: K8S_INITIALIZING", cluster, rec(starting, t0), 30 * sec, unreachable(), pulling(), k8sInit, ReasonContainerCreating},
		{"7 scaled to zero on a Kubernetes-only round: K8S_INITIALIZING", app, rec(starting, t0), 30 * sec, notPolled(), Kube{Outcome: KubePresent, ScaledToZero: true}, k8sInit, ReasonScaledToZero},

		// 8. REST's silence.
		{"8 a job RUNNING since after its JobManager became ready, REST silent: SILENT at once", app, rec(running, at(30*sec)), min, unreachable(), ready(at(20 * sec)), silent, ReasonRESTUnreachable},
		{"8 ready for StartTimeout and REST still silent: SILENT", app, rec(k8sInit, t0), 3 * min, unreachable(), ready(at(30 * sec)), silent, ReasonRESTUnreachable},
		{"8 ready for StartTimeout and the job never listed: SILENT", app, rec(k8sInit, t0), 3 * min, notListed(), ready(at(30 * sec)), silent, ReasonJobNotListed},
		{"8 a session job not listed StartTimeout after submission: SILENT", session, rec(starting, t0), 3 * min, notListed(), ready(at(-24 * time.Hour)), silent, ReasonJobNotListed},
		{"8 RUNNING, REST unreachable, JobManager ready: SILENT", app, rec(running, t0), 10 * min, unreachable(), ready(at(-time.Hour)), silent, ReasonRESTUnreachable},
		{"8 RUNNING, REST unreachable, Kubernetes unknown: SILENT", app, rec(running, t0), 10 * min, unreachable(), kubeUnknown, silent, ReasonRESTUnreachable},
		{"8 SILENT stays SILENT within SilentKeep", app, silentAt0, 59 * sec, unreachable(), ready(at(-time.Hour)), silent, ReasonRESTUnreachable},
		{"8 SILENT becomes LOST after SilentKeep", app, silentAt0, 60 * sec, unreachable(), ready(at(-time.Hour)), lost, ReasonRESTUnreachable},
		{"8 SILENT becomes LOST on a Kubernetes-only round", app, silentAt0, 61 * sec, notPolled(), ready(at(-time.Hour)), lost, ReasonRESTUnreachable},
		{"8 SILENT becomes LOST with Kubernetes unknown", app, silentAt0, 61 * sec, unreachable(), kubeUnknown, lost, ReasonRESTUnreachable},
		{"8 LOST stays LOST", app, lostAt0, time.Hour, unreachable(), kubeUnknown, lost, ReasonRESTUnreachable},
		{"8 SILENT with a pod ready 10s, since before the silence: SILENT", app, silentAt0, 5 * sec, unreachable(), ready(at(-5 * sec)), silent, ReasonRESTUnreachable},
		{"8 SILENT with a pod ready 60s, since before the silence: LOST after SilentKeep", app, silentAt0, 60 * sec, unreachable(), ready(at(-time.Second)), lost, ReasonRESTUnreachable},
		{"8 LOST with a pod ready for less than StartTimeout: LOST", app, lostAt0, 90 * sec, notPolled(), ready(at(-10 * sec)), lost, ReasonRESTUnreachable},
		{"7 a SILENT job's pod ready again after the silence began: K8S_INITIALIZING", app, silentAt0, 30 * sec, unreachable(), ready(at(20 * sec)), k8sInit, ReasonJobManagerStarting},
		{"8 a session job vanished from its reachable session cluster: SILENT", session, rec(running, t0), 10 * min, notListed(), ready(at(-time.Hour)), silent, ReasonJobNotListed},
		{"8 an application job vanished from its reachable JobManager: SILENT", app, rec(running, t0), 10 * min, notListed(), ready(at(-time.Hour)), silent, ReasonJobNotListed},
		{"8 K8S_INITIALIZING, Kubernetes unknown, REST silent for StartTimeout: SILENT", app, rec(k8sInit, t0), 2 * min, unreachable(), kubeUnknown, silent, ReasonRESTUnreachable},
		{"8 K8S_INITIALIZING, Kubernetes unknown, within StartTimeout: K8S_INITIALIZING", app, rec(k8sInit, t0), min, unreachable(), kubeUnknown, k8sInit, ""},
		{"8 STARTING, Kubernetes unknown, JobManager answers without the job: K8S_INITIALIZING", app, rec(starting, t0), min, notListed(), kubeUnknown, k8sInit, ReasonJobNotListed},
		{"8 a session cluster whose REST API stops answering: SILENT", cluster, rec(running, t0), 10 * min, unreachable(), ready(at(-time.Hour)), silent, ReasonRESTUnreachable},
		{"8 scaled to zero while RUNNING: SILENT", app, rec(running, t0), 10 * min, unreachable(), Kube{Outcome: KubePresent, ScaledToZero: true}, silent, ReasonScaledToZero},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.mode, tt.prev, Observation{Time: at(tt.at), REST: tt.rest, Kube: tt.kube}, Config{})
			if got, want := d.State, tt.want; got != want {
				t.Fatalf("Decide().State = %s (%s: %s), want %s", got, d.Reason, d.Message, want)
			}
			if got, want := d.Reason, tt.wantReason; got != want {
				t.Errorf("Decide().Reason = %q, want %q", got, want)
			}
			if got, want := d.StopPolling, d.State.IsTerminal(); got != want {
				t.Errorf("Decide().StopPolling = %v, want %v", got, want)
			}
			if got, want := d.Final, d.State.IsTerminal() && d.State != deployFail; got != want {
				t.Errorf("Decide().Final = %v, want %v", got, want)
			}
			if got, want := !d.SilentSince.IsZero(), d.State == silent || d.State == lost; got != want {
				t.Errorf("Decide().SilentSince = %v for state %s", d.SilentSince, d.State)
			}
		})
	}
}

// TestSilentSinceIsKeptUntilLost pins SilentSince: set when SILENT
// starts, kept through SILENT and LOST, cleared when REST answers.
func TestSilentSinceIsKeptUntilLost(t *testing.T) {
	jm := ready(at(-time.Hour))
	prev := rec(running, t0)
	for _, s := range []struct {
		at          time.Duration
		rest        REST
		want        messages.JobState
		wantSilence time.Time
	}{
		{10 * sec, unreachable(), silent, at(10 * sec)},
		{40 * sec, unreachable(), silent, at(10 * sec)},
		{50 * sec, notPolled(), silent, at(10 * sec)},
		{70 * sec, unreachable(), lost, at(10 * sec)},
		{5 * min, unreachable(), lost, at(10 * sec)},
		{6 * min, listed(running), running, time.Time{}},
		{7 * min, unreachable(), silent, at(7 * min)},
	} {
		d := Decide(messages.ModeApplication, prev, Observation{Time: at(s.at), REST: s.rest, Kube: jm}, Config{})
		if d.State != s.want || !d.SilentSince.Equal(s.wantSilence) {
			t.Fatalf("t+%s: Decide() = %s since %v, want %s since %v", s.at, d.State, d.SilentSince, s.want, s.wantSilence)
		}
		prev = apply(prev, d, at(s.at))
	}
}

// TestConfigLimits checks that Decide uses the configured limits and that
// zero fields mean the defaults.
func TestConfigLimits(t *testing.T) {
	silentAt0 := Record{State: silent, Since: t0, SilentSince: t0}
	jm := ready(at(-time.Hour))
	for _, tt := range []struct {
		name string
		cfg  Config
		prev Record
		at   time.Duration
		kube Kube
		want messages.JobState
	}{
		{"default SilentKeep 60s: 59s is SILENT", Config{}, silentAt0, 59 * sec, jm, silent},
		{"default SilentKeep 60s: 60s is LOST", Config{}, silentAt0, 60 * sec, jm, lost},
		{"SilentKeep 5m: 4m is SILENT", Config{SilentKeep: 5 * min}, silentAt0, 4 * min, jm, silent},
		{"SilentKeep 10s: 10s is LOST", Config{SilentKeep: 10 * sec}, silentAt0, 10 * sec, jm, lost},
		{"negative SilentKeep means the default", Config{SilentKeep: -1}, silentAt0, 30 * sec, jm, silent},
		{"default StartTimeout 120s: 119s is STARTING", Config{}, rec(starting, t0), 119 * sec, kubeAbsent, starting},
		{"StartTimeout 10m: 5m is STARTING", Config{StartTimeout: 10 * min}, rec(starting, t0), 5 * min, kubeAbsent, starting},
		{"StartTimeout 10s: 10s is DEPLOY_FAILED", Config{StartTimeout: 10 * sec}, rec(starting, t0), 10 * sec, kubeAbsent, deployFail},
		{"CrashLoopRestarts 1: the first crash loop fails", Config{CrashLoopRestarts: 1}, rec(running, t0), min, broken("CrashLoopBackOff", ReasonCrashLoop, 1), deployFail},
		{"CrashLoopRestarts 10: 9 restarts is restarting", Config{CrashLoopRestarts: 10}, rec(running, t0), min, broken("CrashLoopBackOff", ReasonCrashLoop, 9), k8sInit},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(messages.ModeApplication, tt.prev, Observation{Time: at(tt.at), REST: unreachable(), Kube: tt.kube}, tt.cfg)
			if got, want := d.State, tt.want; got != want {
				t.Fatalf("Decide().State = %s (%s), want %s", got, d.Reason, want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("Config{}.Validate() = %v, want nil (zero means default)", err)
	}
	err := Config{SilentKeep: -1, StartTimeout: -1, CrashLoopRestarts: -1}.Validate()
	if err == nil {
		t.Fatal("Validate() of negative fields = nil, want an error")
	}
	for _, f := range []string{"SilentKeep", "StartTimeout", "CrashLoopRestarts"} {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("Validate() = %q, does not name %s", err, f)
		}
	}
	var c Config
	c.SetDefaults()
	if c != (Config{SilentKeep: DefaultSilentKeep, StartTimeout: DefaultStartTimeout, CrashLoopRestarts: DefaultCrashLoopRestarts}) {
		t.Errorf("SetDefaults() = %+v", c)
	}
}

// TestMessages checks what decisions tell people: Kubernetes' and REST's
// words, the session cluster named as the cause, and bounded sizes.
func TestMessages(t *testing.T) {
	long := strings.Repeat("x", 10000)
	for _, tt := range []struct {
		name string
		mode messages.Mode
		prev Record
		rest REST
		kube Kube
		want string
	}{
		{"DEPLOY_FAILED carries Kubernetes' message", messages.ModeApplication, rec(starting, t0), notPolled(),
			broken("ImagePullBackOff", ReasonImagePullFailed, 0), "pod wc-1, container flink-main-container: ImagePullBackOff"},
		{"a session job names its session cluster as the cause", messages.ModeSession, rec(running, t0), unreachable(),
			broken("CrashLoopBackOff", ReasonCrashLoop, 5), "session cluster: pod wc-1"},
		{"SILENT carries REST's error", messages.ModeApplication, rec(running, t0), unreachable(),
			ready(at(-time.Hour)), "connection refused"},
		{"K8S_INITIALIZING carries the scheduler's message", messages.ModeApplication, rec(starting, t0), notPolled(),
			unschedulable(), "Insufficient cpu"},
		{"a long REST error is clipped", messages.ModeApplication, rec(running, t0), REST{Outcome: RESTUnreachable, Error: long},
			ready(at(-time.Hour)), "does not answer: xxx"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.mode, tt.prev, Observation{Time: at(min), REST: tt.rest, Kube: tt.kube}, Config{})
			if !strings.Contains(d.Message, tt.want) {
				t.Errorf("Decide().Message = %q, want it to contain %q", d.Message, tt.want)
			}
			if len(d.Message) > 2048 {
				t.Errorf("len(Decide().Message) = %d, want at most 2048", len(d.Message))
			}
		})
	}
}
