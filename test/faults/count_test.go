package faults

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
)

// collected is what came out on the status and dead-letter topics.
type collected struct {
	// byJob are each job's status events in topic order, first delivery
	// of each event id only.
	byJob map[string][]statusEvent
	// ids are the distinct event ids; records counts every record,
	// republished those whose id was seen before (consumers drop them).
	ids         map[string]bool
	records     int
	republished int
	// deadLetters are the dead-lettered records: type and reason.
	deadLetters []string
}

type statusEvent struct {
	id string
	// at is when the record was produced.
	at time.Time
	*messages.JobStatusChanged
}

// collect reads the status and dead-letter topics from their start.
func (s *stack) collect(t *testing.T) *collected {
	t.Helper()
	c := &collected{byJob: map[string][]statusEvent{}, ids: map[string]bool{}}
	for _, rec := range s.kafka.Consume(t, s.topics.Status, 1<<30, 5*time.Second) {
		c.records++
		id := testenv.Header(rec, "ce_id")
		if c.ids[id] {
			c.republished++
			continue
		}
		c.ids[id] = true
		hs := map[string]string{}
		for _, h := range rec.Headers {
			hs[h.Key] = string(h.Value)
		}
		ev, _, err := messages.DecodeMessage(hs, "", rec.Value)
		if err != nil {
			t.Errorf("status record %s: %v", id, err)
			continue
		}
		if sc, ok := ev.(*messages.JobStatusChanged); ok {
			c.byJob[sc.Job.Key()] = append(c.byJob[sc.Job.Key()], statusEvent{id: id, at: rec.Timestamp, JobStatusChanged: sc})
		}
	}
	for _, rec := range s.kafka.Consume(t, s.topics.DeadLetter, 1<<30, 2*time.Second) {
		c.deadLetters = append(c.deadLetters, fmt.Sprintf("%s (%s)", testenv.Header(rec, "ce_type"), testenv.Header(rec, bus.ReasonHeader)+": "+testenv.Header(rec, "reason_poisoned")))
	}
	return c
}

// chainProblems checks job key's status events: every state change
// announced once (no two ids for one transition of one run), the changes
// forming one unbroken chain from "" (each starts where the previous
// ended: a lost event breaks it; a job the tracker rebuilt after losing it
// starts again from "" with reason recovered), ending in want.
func (c *collected) chainProblems(key string, want messages.JobState) []string {
	var problems []string
	evs := c.byJob[key]
	if len(evs) == 0 {
		return []string{key + ": no status event"}
	}
	// seen is where in the chain each transition was last announced: the
	// same transition again is a duplicate unless the job went elsewhere
	// and came back in between (a second SILENT spell, say), which an
	// unbroken chain shows.
	type at struct {
		id string
		n  int
	}
	seen := map[string]at{}
	prev := messages.JobState("")
	var chain []string
	for _, e := range evs {
		if e.From == e.To { // an operation step, not a state change
			continue
		}
		tr := fmt.Sprintf("%s>%s run %s", e.From, e.To, e.RequestID)
		if e.Operation != nil {
			tr += " op " + e.Operation.RequestID + "/" + string(e.Operation.Status)
		}
		if other, ok := seen[tr]; ok && (e.Operation != nil || other.n == len(chain)-1 || e.From != prev) {
			problems = append(problems, fmt.Sprintf("%s: %s announced twice (ids %s and %s)", key, tr, other.id, e.id))
		}
		seen[tr] = at{e.id, len(chain)}
		if e.From != prev && !(e.From == "" && e.Reason == "recovered") {
			problems = append(problems, fmt.Sprintf("%s: chain broken: %s>%s after %q (a lost event?)", key, e.From, e.To, prev))
		}
		prev = e.To
		chain = append(chain, string(e.To))
	}
	if prev != want {
		problems = append(problems, fmt.Sprintf("%s: last announced state %q, want %s (chain %s)", key, prev, want, strings.Join(chain, " > ")))
	}
	return problems
}

// since returns job key's events produced after t.
func (c *collected) since(key string, t time.Time) []statusEvent {
	var out []statusEvent
	for _, e := range c.byJob[key] {
		if e.at.After(t) {
			out = append(out, e)
		}
	}
	return out
}

func (e statusEvent) String() string {
	return fmt.Sprintf("%s>%s (%s)", e.From, e.To, e.Reason)
}
