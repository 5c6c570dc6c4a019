package flinkrest

import (
	"context"
	"time"
)

// JobExceptions is GET /jobs/{jobid}/exceptions (Flink's
// JobExceptionsInfoWithHistory), reduced to what explains a failure.
type JobExceptions struct {
	// RootException is the stack trace of the latest root cause, empty
	// before the job failed once (Flink writes null); RootTime is when
	// it happened.
	RootException string
	RootTime      time.Time
	// History are the recorded root causes, newest first.
	History []ExceptionEntry
	// Truncated is set when Flink dropped older entries.
	Truncated bool
}

// ExceptionEntry is one root cause of a job failure or restart.
type ExceptionEntry struct {
	// Name is the exception class, Stacktrace its stack trace.
	Name       string
	Stacktrace string
	// Time is when it happened.
	Time time.Time
	// TaskName, Location and TaskManagerID say where, when known.
	TaskName      string
	Location      string
	TaskManagerID string
}

// JobExceptions returns the failure causes of job jobID.
func (c *Client) JobExceptions(ctx context.Context, base, jobID string) (*JobExceptions, error) {
	var w struct {
		RootException *string `json:"root-exception"`
		Timestamp     jsonInt `json:"timestamp"`
		Truncated     bool    `json:"truncated"`
		History       struct {
			Entries []struct {
				ExceptionName string  `json:"exceptionName"`
				Stacktrace    string  `json:"stacktrace"`
				Timestamp     jsonInt `json:"timestamp"`
				TaskName      string  `json:"taskName"`
				Location      string  `json:"location"`
				TaskManagerID string  `json:"taskManagerId"`
			} `json:"entries"`
			Truncated bool `json:"truncated"`
		} `json:"exceptionHistory"`
	}
	if err := c.getJSON(ctx, base, "/jobs/"+pathEscape(jobID)+"/exceptions", &w); err != nil {
		return nil, err
	}
	out := &JobExceptions{RootTime: millisTime(w.Timestamp), Truncated: w.Truncated || w.History.Truncated}
	if w.RootException != nil {
		out.RootException = *w.RootException
	}
	for _, e := range w.History.Entries {
		out.History = append(out.History, ExceptionEntry{
			Name: e.ExceptionName, Stacktrace: e.Stacktrace, Time: millisTime(e.Timestamp),
			TaskName: e.TaskName, Location: e.Location, TaskManagerID: e.TaskManagerID,
		})
	}
	if out.RootException == "" && len(out.History) > 0 {
		out.RootException, out.RootTime = out.History[0].Stacktrace, out.History[0].Time
	}
	return out, nil
}
