package messages_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flinkferry/flinkferry/messages"
)

func TestDefaultTopics(t *testing.T) {
	got := messages.DefaultTopics("flinkferry.")
	want := messages.Topics{
		Submit:     "flinkferry.submit",
		Control:    "flinkferry.control",
		ImageBuilt: "flinkferry.image-built",
		Deployed:   "flinkferry.deployed",
		Status:     "flinkferry.status",
		DeadLetter: "flinkferry.dead-letter",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("DefaultTopics() mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{want.Submit, want.Control, want.ImageBuilt, want.Deployed, want.Status, want.DeadLetter}, got.All()); diff != "" {
		t.Fatalf("All() mismatch (-want +got):\n%s", diff)
	}
	if err := got.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
}

func TestTopicsDefaultType(t *testing.T) {
	topics := messages.DefaultTopics("ff.")
	tests := []struct {
		topic string
		want  string
	}{
		{"ff.submit", messages.TypeSubmitRequested},
		{"ff.control", messages.TypeControlRequested},
		{"ff.image-built", messages.TypeImageBuilt},
		{"ff.deployed", messages.TypeDeployed},
		{"ff.status", messages.TypeJobStatusChanged},
		{"ff.dead-letter", ""},
		{"other", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.topic, func(t *testing.T) {
			if got, want := topics.DefaultType(tt.topic), tt.want; got != want {
				t.Fatalf("DefaultType(%q) = %q, want %q", tt.topic, got, want)
			}
		})
	}
	if got := (messages.Topics{}).DefaultType(""); got != "" {
		t.Fatalf("Topics{}.DefaultType(\"\") = %q, want \"\"", got)
	}
}

func TestTopicsFor(t *testing.T) {
	topics := messages.DefaultTopics("")
	tests := []struct {
		eventType string
		want      []string
	}{
		{messages.TypeSubmitRequested, []string{"submit"}},
		{messages.TypeControlRequested, []string{"control"}},
		{messages.TypeImageBuilt, []string{"image-built", "status"}},
		{messages.TypeBuildFailed, []string{"status"}},
		{messages.TypeDeployed, []string{"deployed", "status"}},
		{messages.TypeDeployFailed, []string{"status"}},
		{messages.TypeJobStatusChanged, []string{"status"}},
		{"io.example.other.v1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.eventType, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, topics.For(tt.eventType)); diff != "" {
				t.Fatalf("For(%q) mismatch (-want +got):\n%s", tt.eventType, diff)
			}
		})
	}
}

func TestTopicsValidate(t *testing.T) {
	topics := messages.DefaultTopics("x.")
	topics.Status = topics.Submit
	topics.Deployed = "bad topic"
	topics.DeadLetter = ""
	want := fe(
		"dead_letter", "required",
		"deployed", `invalid Kafka topic name "bad topic"`,
		"status", "same topic as submit",
	)
	if diff := cmp.Diff(want, fieldErrorsOf(t, topics.Validate())); diff != "" {
		t.Fatalf("Validate() mismatch (-want +got):\n%s", diff)
	}
}
