package messages_test

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flinkferry/flinkferry/messages"
)

func TestRegistry(t *testing.T) {
	tests := []struct {
		eventType string
		want      messages.Event
		command   bool
	}{
		{messages.TypeSubmitRequested, &messages.SubmitRequested{}, true},
		{messages.TypeImageBuilt, &messages.ImageBuilt{}, false},
		{messages.TypeBuildFailed, &messages.BuildFailed{}, false},
		{messages.TypeDeployed, &messages.Deployed{}, false},
		{messages.TypeDeployFailed, &messages.DeployFailed{}, false},
		{messages.TypeJobStatusChanged, &messages.JobStatusChanged{}, false},
		{messages.TypeControlRequested, &messages.ControlRequested{}, true},
		{messages.TypeControlRefused, &messages.ControlRefused{}, false},
		{messages.TypeUpgradeRequested, &messages.UpgradeRequested{}, false},
	}
	var types []string
	for _, tt := range tests {
		types = append(types, tt.eventType)
		t.Run(tt.eventType, func(t *testing.T) {
			ev, err := messages.NewEvent(tt.eventType)
			if err != nil {
				t.Fatalf("NewEvent() = %v", err)
			}
			if got, want := reflect.TypeOf(ev), reflect.TypeOf(tt.want); got != want {
				t.Fatalf("NewEvent() = %v, want %v", got, want)
			}
			if !reflect.ValueOf(ev).Elem().IsZero() {
				t.Fatalf("NewEvent() = %+v, want a zero value", ev)
			}
			if got, want := ev.EventType(), tt.eventType; got != want {
				t.Fatalf("EventType() = %q, want %q", got, want)
			}
			if got, want := messages.IsCommand(tt.eventType), tt.command; got != want {
				t.Fatalf("IsCommand() = %v, want %v", got, want)
			}
			other, _ := messages.NewEvent(tt.eventType)
			if ev == other {
				t.Fatal("NewEvent() returned the same pointer twice")
			}
		})
	}
	slices.Sort(types)
	if diff := cmp.Diff(types, messages.Types()); diff != "" {
		t.Fatalf("Types() mismatch (-want +got):\n%s", diff)
	}
}

func TestNewEventUnknown(t *testing.T) {
	ev, err := messages.NewEvent("io.flinkferry.cancel.requested.v1")
	if ev != nil || !errors.Is(err, messages.ErrUnknownEventType) {
		t.Fatalf("NewEvent() = %v, %v, want nil, ErrUnknownEventType", ev, err)
	}
	if got, want := messages.ReasonOf(err), messages.ReasonUnknownEventType; got != want {
		t.Fatalf("ReasonOf() = %q, want %q", got, want)
	}
	if messages.IsCommand("io.flinkferry.cancel.requested.v1") {
		t.Fatal("IsCommand(unknown) = true")
	}
}

func TestJobKeyAndRequestID(t *testing.T) {
	job := messages.JobRef{Namespace: "ns", ClusterID: "c1"}
	tests := []struct {
		ev      messages.Event
		wantKey string
		wantID  string
	}{
		{&messages.SubmitRequested{RequestID: "a", Job: messages.JobRef{KubeCluster: "eu", Namespace: "ns", ClusterID: "c1"}}, "eu/ns/c1", "a"},
		{&messages.ImageBuilt{RequestID: "b", Job: job}, "/ns/c1", "b"},
		{&messages.BuildFailed{RequestID: "c", Job: job}, "/ns/c1", "c"},
		{&messages.Deployed{RequestID: "d", Job: job}, "/ns/c1", "d"},
		{&messages.DeployFailed{RequestID: "e", Job: job}, "/ns/c1", "e"},
		{&messages.JobStatusChanged{RequestID: "f", Job: job}, "/ns/c1", "f"},
		{(*messages.Deployed)(nil), "", ""},
	}
	for _, tt := range tests {
		t.Run(reflect.TypeOf(tt.ev).String(), func(t *testing.T) {
			if got, want := messages.RequestIDOf(tt.ev), tt.wantID; got != want {
				t.Fatalf("RequestIDOf() = %q, want %q", got, want)
			}
			if tt.wantKey == "" {
				return
			}
			if got, want := tt.ev.JobKey(), tt.wantKey; got != want {
				t.Fatalf("JobKey() = %q, want %q", got, want)
			}
		})
	}
	if got := messages.RequestIDOf(nil); got != "" {
		t.Fatalf("RequestIDOf(nil) = %q, want \"\"", got)
	}
}

func TestJobState(t *testing.T) {
	terminal := map[messages.JobState]bool{
		messages.StateFailed: true, messages.StateCanceled: true, messages.StateFinished: true,
		messages.StateTerminated: true, messages.StateDeployFailed: true,
	}
	for _, s := range messages.JobStates() {
		t.Run(string(s), func(t *testing.T) {
			if got, want := s.IsTerminal(), terminal[s]; got != want {
				t.Fatalf("IsTerminal() = %v, want %v", got, want)
			}
			if !s.IsKnown() {
				t.Fatal("IsKnown() = false")
			}
		})
	}
	if got, want := len(messages.JobStates()), 22; got != want {
		t.Fatalf("len(JobStates()) = %d, want %d", got, want)
	}
	if messages.JobState("SCALING").IsKnown() || messages.JobState("SCALING").IsTerminal() {
		t.Fatal("an unknown state is known or terminal")
	}
}

func TestEnums(t *testing.T) {
	for _, m := range messages.Modes() {
		if !m.IsKnown() {
			t.Errorf("Mode(%q).IsKnown() = false", m)
		}
	}
	for _, r := range messages.RestExposedTypes() {
		if !r.IsKnown() {
			t.Errorf("RestExposedType(%q).IsKnown() = false", r)
		}
	}
	for _, r := range messages.RestoreModes() {
		if !r.IsKnown() {
			t.Errorf("RestoreMode(%q).IsKnown() = false", r)
		}
	}
	if messages.Mode("Application").IsKnown() || messages.RestExposedType("clusterip").IsKnown() || messages.RestoreMode("claim").IsKnown() {
		t.Error("a misspelled value is known")
	}
}
