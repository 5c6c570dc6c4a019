package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/flinkferry/flinkferry/messages"
)

// Notice statuses.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)

// maxMessageBytes bounds the event message carried into a notice (Flink
// failure causes can be 32 KiB); chat templates cut it further.
const maxMessageBytes = 4096

// Notice is what a channel sends: the data of every body template.
type Notice struct {
	// Status is firing or resolved.
	Status string `json:"status"`
	// Rule and Severity are the rule's.
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	// Fingerprint identifies the alert: the same for every notice of one
	// (rule, job).
	Fingerprint string `json:"fingerprint"`
	// Job is the job's identity; Key is its Kafka key.
	Job messages.JobRef `json:"job"`
	Key string          `json:"key"`
	// Mode and FlinkJobID are the event's.
	Mode       string `json:"mode"`
	FlinkJobID string `json:"flink_job_id,omitempty"`
	// From, To, Reason and Message are the event's (Message cut at 4 KiB).
	From    string `json:"from,omitempty"`
	To      string `json:"to"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	// WebUIURL is the Flink web UI.
	WebUIURL string `json:"web_ui_url,omitempty"`
	// Labels are the job's labels.
	Labels map[string]string `json:"labels,omitempty"`
	// Time is when the state was observed; StartsAt when the alert fired.
	Time     time.Time `json:"time"`
	StartsAt time.Time `json:"starts_at"`
	// Operation is the day-2 operation the event is a step of.
	Operation *messages.OperationRef `json:"operation,omitempty"`
	// SavepointPath is the event's savepoint, when it has one.
	SavepointPath string `json:"savepoint_path,omitempty"`
	// Flink are the job's figures from the track worker's record when the
	// notice was sent (nil when the record could not be read).
	Flink *FlinkFacts `json:"flink,omitempty"`
}

// FlinkFacts are what StreamPark's alert callback carries beside the
// state: the job's times, restarts and checkpoint figures, from the track
// worker's record of the job.
type FlinkFacts struct {
	// StartTime, EndTime and DurationMS are Flink's (zero when unknown).
	StartTime  time.Time `json:"start_time,omitzero"`
	EndTime    time.Time `json:"end_time,omitzero"`
	DurationMS int64     `json:"duration_ms,omitempty"`
	// Restarts counts the run's transitions into RESTARTING among the
	// job's recorded transitions (the last 100).
	Restarts int `json:"restarts"`
	// Checkpoints completed and failed (Flink's counts), the latest
	// completed one and the latest failure.
	CheckpointsCompleted   int64     `json:"checkpoints_completed"`
	CheckpointsFailed      int64     `json:"checkpoints_failed"`
	LastCheckpointAt       time.Time `json:"last_checkpoint_at,omitzero"`
	LastCheckpointFailedAt time.Time `json:"last_checkpoint_failed_at,omitzero"`
	LastCheckpointFailure  string    `json:"last_checkpoint_failure,omitempty"`
}

// Summary is one line for a person: "[FIRING] critical job-failed
// /flink-jobs/wordcount RUNNING → FAILED (reason)".
func (n *Notice) Summary() string {
	s := fmt.Sprintf("[%s] %s %s %s ", upperStatus(n.Status), n.Severity, n.Rule, n.Key)
	if n.From != "" {
		s += n.From + " → "
	}
	s += n.To
	if n.Reason != "" {
		s += " (" + n.Reason + ")"
	}
	if n.Operation != nil {
		s += fmt.Sprintf(" [%s %s]", n.Operation.Operation, n.Operation.Status)
	}
	return s
}

func upperStatus(s string) string {
	if s == StatusResolved {
		return "RESOLVED"
	}
	return "FIRING"
}

// newNotice builds the notice of rule r for ev.
func newNotice(status string, r Rule, ev *messages.JobStatusChanged, startsAt time.Time) *Notice {
	return &Notice{
		Status: status, Rule: r.Name, Severity: r.Severity, Fingerprint: Fingerprint(r.Name, ev.JobKey()),
		Job: ev.Job, Key: ev.JobKey(), Mode: string(ev.Mode), FlinkJobID: ev.FlinkJobID,
		From: string(ev.From), To: string(ev.To), Reason: ev.Reason, Message: truncate(ev.Message, maxMessageBytes),
		WebUIURL: ev.WebUIURL, Labels: ev.Labels, Time: ev.Time.UTC(), StartsAt: startsAt.UTC(),
		Operation: ev.Operation, SavepointPath: ev.SavepointPath,
	}
}

// Fingerprint is the stable id of the alert of rule for job key.
func Fingerprint(rule, key string) string {
	sum := sha256.Sum256([]byte(rule + "\x00" + key))
	return hex.EncodeToString(sum[:8])
}

// eventID is the idempotency key of a status event: a hash of its
// content. The track worker publishes a transition again with the same
// content after a crash, and the bus hands handlers the payload, not the
// record's ce_id.
func eventID(ev *messages.JobStatusChanged) string {
	b, _ := json.Marshal(ev)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

func sortNotices(ns []Notice) {
	slices.SortFunc(ns, func(a, b Notice) int { return strings.Compare(a.Fingerprint, b.Fingerprint) })
}
