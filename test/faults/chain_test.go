package faults

import (
	"fmt"
	"strings"
	"testing"

	"github.com/flinkferry/flinkferry/messages"
)

// TestChainProblems: the per-job event check tells a transition announced
// twice from one the job really went through twice.
func TestChainProblems(t *testing.T) {
	const (
		run  = messages.StateRunning
		sil  = messages.StateSilent
		rest = messages.StateRestarting
	)
	ev := func(i int, from, to messages.JobState) statusEvent {
		return statusEvent{id: fmt.Sprintf("j@1.%d.%s", i, to), JobStatusChanged: &messages.JobStatusChanged{From: from, To: to, RequestID: "r"}}
	}
	for _, tc := range []struct {
		name string
		evs  []statusEvent
		want string // a problem containing this, "" for none
	}{
		{"a chain", []statusEvent{ev(1, "", run), ev(2, run, rest), ev(3, rest, run)}, ""},
		{"two silent spells", []statusEvent{ev(1, "", run), ev(2, run, sil), ev(3, sil, run), ev(9, run, sil), ev(10, sil, run)}, ""},
		{"announced twice", []statusEvent{ev(1, "", run), ev(2, run, sil), ev(3, run, sil), ev(4, sil, run)}, "announced twice"},
		{"a lost event", []statusEvent{ev(1, "", run), ev(3, sil, run)}, "chain broken"},
		{"not at the end state", []statusEvent{ev(1, "", run), ev(2, run, sil)}, "last announced state"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &collected{byJob: map[string][]statusEvent{"j": tc.evs}}
			got := strings.Join(c.chainProblems("j", run), "\n")
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("problems %q, want one with %q", got, tc.want)
			}
		})
	}
}
