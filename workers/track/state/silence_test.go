package state

import (
	"fmt"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/messages"
)

// transition is one state change of a simulated timeline.
type transition struct {
	at       time.Time
	from, to messages.JobState
	reason   string
}

// TestSilentToLostWhateverPodAge measures, with simulated time and the
// default limits, how long a RUNNING job whose REST API stops answering
// takes to be LOST, with its JobManager pod ready for 10 s, 60 s and
// 10 min when the outage begins: SilentKeep (60 s) after the first silent
// poll, within one poll interval of the outage, with two status events
// (SILENT, then LOST) and nothing in between, however young the pod.
// (Before the fix, a pod ready for less than StartTimeout moved SILENT
// back to K8S_INITIALIZING: LOST came ~190 s after the outage, with two
// extra events.)
func TestSilentToLostWhateverPodAge(t *testing.T) {
	const interval = 5 * time.Second
	cfg := Config{}
	cfg.SetDefaults()
	for _, age := range []time.Duration{10 * sec, 60 * sec, 10 * min} {
		t.Run(fmt.Sprintf("pod ready for %s", age), func(t *testing.T) {
			readyAt := t0                   // the JobManager pod became Ready
			outage := readyAt.Add(age)      // REST stops answering
			registered := t0.Add(-30 * sec) // the deployed event
			prev := Record{State: starting, Since: registered}
			var after []transition
			// Polls every interval, 2.5 s off the outage's phase: the
			// first poll to see the outage comes 2.5 s after it.
			for now := registered.Add(interval / 2); now.Before(outage.Add(5 * min)); now = now.Add(interval) {
				obs := Observation{Time: now, REST: listed(running), Kube: ready(readyAt)}
				switch {
				case now.Before(readyAt):
					obs.REST, obs.Kube = unreachable(), pulling()
				case !now.Before(outage):
					obs.REST = unreachable()
				}
				d := Decide(messages.ModeApplication, prev, obs, cfg)
				if d.State != prev.State && !now.Before(outage) {
					after = append(after, transition{now, prev.State, d.State, d.Reason})
				}
				prev = apply(prev, d, now)
			}
			if len(after) != 2 || after[0].from != running || after[0].to != silent || after[1].to != lost {
				t.Fatalf("transitions after the outage = %+v, want RUNNING → SILENT → LOST", after)
			}
			firstSilentPoll := after[0].at
			tookFromPoll, tookFromOutage := after[1].at.Sub(firstSilentPoll), after[1].at.Sub(outage)
			t.Logf("pod ready for %s: SILENT %s after the outage, LOST %s after the first silent poll, %s after the outage",
				age, firstSilentPoll.Sub(outage), tookFromPoll, tookFromOutage)
			if tookFromPoll < cfg.SilentKeep-interval || tookFromPoll > cfg.SilentKeep+interval {
				t.Errorf("LOST %s after the first silent poll, want SilentKeep %s ± %s", tookFromPoll, cfg.SilentKeep, interval)
			}
			if tookFromOutage < cfg.SilentKeep || tookFromOutage > cfg.SilentKeep+interval {
				t.Errorf("LOST %s after the outage, want within [%s, %s]", tookFromOutage, cfg.SilentKeep, cfg.SilentKeep+interval)
			}
		})
	}
}
