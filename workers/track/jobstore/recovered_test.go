package jobstore

import (
	"context"
	"fmt"
	"testing"

	"github.com/flinkferry/flinkferry/messages"
)

// TestRegisterRecoveredAnnouncesTheFirstRealStateOnly: a run rebuilt from
// Kubernetes after the store lost it is not announced in STARTING or
// K8S_INITIALIZING (states of the registration, not of the job); its
// first other state is announced once from "" with reason recovered; the
// next ones as usual.
func TestRegisterRecoveredAnnouncesTheFirstRealStateOnly(t *testing.T) {
	s := newStore(t, client(t), Options{})
	d := deployed("ns", "job", "r", t0)
	key, shard := d.Job.Key(), s.ShardOf(d.Job.Key())
	res, err := s.RegisterRecovered(context.Background(), d, t0)
	if err != nil || res.Outcome != Created {
		t.Fatalf("RegisterRecovered() = %+v, %v", res, err)
	}
	transition(t, s, key, messages.StateK8sInitializing, "jobmanager_starting", t0)
	transition(t, s, key, messages.StateRunning, "", t0)
	transition(t, s, key, messages.StateRestarting, "", t0)
	var got []string
	for _, e := range outbox(t, s, shard) {
		got = append(got, fmt.Sprintf("%s>%s %s", e.From, e.To, e.Reason))
	}
	want := []string{">RUNNING recovered", "RUNNING>RESTARTING "}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("outbox %q, want %q", got, want)
	}
	if j := get(t, s, key); j.State != messages.StateRestarting {
		t.Errorf("state %s, want RESTARTING", j.State)
	}
	// The deployed event arriving afterwards changes nothing announced.
	if r := register(t, s, d, t0); r.Outcome != Duplicate {
		t.Errorf("Register after recovery = %+v, want duplicate", r)
	}
	if n := len(outbox(t, s, shard)); n != 2 {
		t.Errorf("%d outbox entries after the deployed event, want 2", n)
	}
}

// TestRegisterRecoveredThenDeployed: the recovery registered a run whose
// deployed event was on its way (a new job, not a lost one): when the
// event arrives before the first real state, the run is announced as new
// from there on.
func TestRegisterRecoveredThenDeployed(t *testing.T) {
	s := newStore(t, client(t), Options{})
	d := deployed("ns", "job", "r", t0)
	key, shard := d.Job.Key(), s.ShardOf(d.Job.Key())
	if _, err := s.RegisterRecovered(context.Background(), d, t0); err != nil {
		t.Fatal(err)
	}
	transition(t, s, key, messages.StateK8sInitializing, "jobmanager_starting", t0)
	if r := register(t, s, d, t0); r.Outcome != Duplicate {
		t.Fatalf("Register = %+v, want duplicate", r)
	}
	transition(t, s, key, messages.StateRunning, "", t0)
	var got []string
	for _, e := range outbox(t, s, shard) {
		got = append(got, fmt.Sprintf("%s>%s %s", e.From, e.To, e.Reason))
	}
	want := []string{">K8S_INITIALIZING deployed", "K8S_INITIALIZING>RUNNING "}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("outbox %q, want %q", got, want)
	}
}

// TestRecoveredFailureKeepsItsReason: a recovered run whose first real
// state is a failure is announced from "" with the failure's own reason
// (image_pull_failed, what an alert routes on), not recovered; a healthy
// first state without a reason is recovered.
func TestRecoveredFailureKeepsItsReason(t *testing.T) {
	s := newStore(t, client(t), Options{})
	for _, tc := range []struct {
		id, reason string
		to         messages.JobState
		want       string
	}{
		{"badimage", "image_pull_failed", messages.StateDeployFailed, ">DEPLOY_FAILED image_pull_failed"},
		{"healthy", "", messages.StateRunning, ">RUNNING recovered"},
	} {
		d := deployed("ns", tc.id, "r", t0)
		key, shard := d.Job.Key(), s.ShardOf(d.Job.Key())
		if _, err := s.RegisterRecovered(context.Background(), d, t0); err != nil {
			t.Fatal(err)
		}
		transition(t, s, key, tc.to, tc.reason, t0)
		var got []string
		for _, e := range outbox(t, s, shard) {
			if e.Job.ClusterID == tc.id {
				got = append(got, fmt.Sprintf("%s>%s %s", e.From, e.To, e.Reason))
			}
		}
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("%s: outbox %q, want [%s]", tc.id, got, tc.want)
		}
	}
}

// TestRegisterRecoveredTwice: every track replica recovers every
// Deployment, so one lost run is recovered twice at about the same time.
// The second recovery is a duplicate that announces nothing (it is not the
// run's deployed event arriving: the CI run that found this saw each such
// job announced as a new run from nothing to STARTING, reason deployed); the first real
// state is still announced once, as recovered.
func TestRegisterRecoveredTwice(t *testing.T) {
	s := newStore(t, client(t), Options{})
	d := deployed("ns", "job", "r", t0)
	key, shard := d.Job.Key(), s.ShardOf(d.Job.Key())
	for i, want := range []RegisterOutcome{Created, Duplicate} {
		res, err := s.RegisterRecovered(context.Background(), d, t0)
		if err != nil || res.Outcome != want {
			t.Fatalf("RegisterRecovered() #%d = %+v, %v; want %s", i+1, res, err, want)
		}
	}
	if n := len(outbox(t, s, shard)); n != 0 {
		t.Errorf("%d outbox entries after two recoveries, want 0", n)
	}
	transition(t, s, key, messages.StateK8sInitializing, "jobmanager_starting", t0)
	transition(t, s, key, messages.StateRunning, "", t0)
	var got []string
	for _, e := range outbox(t, s, shard) {
		got = append(got, fmt.Sprintf("%s>%s %s", e.From, e.To, e.Reason))
	}
	if want := []string{">RUNNING recovered"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("outbox %q, want %q", got, want)
	}
}
