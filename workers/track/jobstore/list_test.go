package jobstore

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/messages"
)

func TestListFilters(t *testing.T) {
	s := newStore(t, client(t), Options{})
	for _, j := range []struct {
		kube, ns, id string
		state        messages.JobState
	}{
		{"", "team-a", "wordcount", messages.StateRunning},
		{"", "team-a", "etl", messages.StateFailed},
		{"", "team-b", "wordcount", messages.StateRunning},
		{"prod", "team-a", "wordcount", messages.StateStarting},
		{"prod", "team-b", "sessions", messages.StateRunning},
	} {
		d := deployed(j.ns, j.id, "r", t0)
		d.Job.KubeCluster = j.kube
		register(t, s, d, t0)
		if j.state != messages.StateStarting {
			transition(t, s, d.Job.Key(), j.state, "", t0.Add(time.Minute))
		}
	}
	for _, tt := range []struct {
		f    Filter
		want string
	}{
		{Filter{}, "/team-a/etl /team-a/wordcount /team-b/wordcount prod/team-a/wordcount prod/team-b/sessions"},
		{Filter{KubeCluster: "prod"}, "prod/team-a/wordcount prod/team-b/sessions"},
		{Filter{Namespace: "team-a"}, "/team-a/etl /team-a/wordcount prod/team-a/wordcount"},
		{Filter{KubeCluster: "prod", Namespace: "team-a"}, "prod/team-a/wordcount"},
		{Filter{State: messages.StateRunning}, "/team-a/wordcount /team-b/wordcount prod/team-b/sessions"},
		{Filter{Namespace: "team-b", State: messages.StateRunning}, "/team-b/wordcount prod/team-b/sessions"},
		{Filter{ClusterID: "wordcount"}, "/team-a/wordcount /team-b/wordcount prod/team-a/wordcount"},
		{Filter{ClusterID: "wordcount", State: messages.StateRunning, Namespace: "team-a"}, "/team-a/wordcount"},
		{Filter{KubeCluster: "staging"}, ""},
		{Filter{State: messages.StateLost}, ""},
	} {
		js, err := s.List(context.Background(), tt.f)
		if err != nil {
			t.Fatalf("List(%+v) = %v", tt.f, err)
		}
		var got []string
		for _, j := range js {
			got = append(got, j.Key)
		}
		if g := strings.Join(got, " "); g != tt.want {
			t.Errorf("List(%+v) = %q, want %q", tt.f, g, tt.want)
		}
	}
}

func TestCount(t *testing.T) {
	s := newStore(t, client(t), Options{})
	for _, id := range []string{"a", "b", "c", "d"} {
		register(t, s, deployed("ns", id, "r", t0), t0)
	}
	transition(t, s, "/ns/a", messages.StateRunning, "", t0)
	transition(t, s, "/ns/b", messages.StateRunning, "", t0)
	transition(t, s, "/ns/c", "SOMETHING_NEW", "", t0) // a state added by a newer tracker
	got, err := s.Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[messages.JobState]int64{messages.StateRunning: 2, messages.StateStarting: 1, "SOMETHING_NEW": 1, messages.StateLost: 0}
	for st, n := range want {
		if got[st] != n {
			t.Errorf("Count()[%s] = %d, want %d", st, got[st], n)
		}
	}
	if len(got) != len(messages.JobStates())+1 {
		t.Errorf("Count() has %d states, want every known one plus SOMETHING_NEW", len(got))
	}
}
