package flinkrest

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/flinkferry/flinkferry/messages"
)

// JobOverview is one entry of GET /jobs/overview (Flink's JobDetails).
type JobOverview struct {
	// ID is the job id (32 hex characters).
	ID string
	// Name is the job name.
	Name string
	// State is the job's status (JobStatus), one of Flink's states among
	// the messages.State* constants; the list is open, a newer Flink may
	// report a state not listed there.
	State messages.JobState
	// StartTime is when the job was submitted; EndTime when it became
	// globally terminal, zero before (Flink writes -1).
	StartTime time.Time
	EndTime   time.Time
	// Duration is how long the job ran (until now, or until EndTime).
	Duration time.Duration
	// LastModification is when the job last changed state.
	LastModification time.Time
	// Tasks counts the job's tasks per execution state.
	Tasks TaskCounts
}

type jobDetailsJSON struct {
	JID              string         `json:"jid"`
	Name             string         `json:"name"`
	State            string         `json:"state"`
	StartTime        jsonInt        `json:"start-time"`
	EndTime          jsonInt        `json:"end-time"`
	Duration         jsonInt        `json:"duration"`
	LastModification jsonInt        `json:"last-modification"`
	Tasks            taskCountsJSON `json:"tasks"`
}

func (w *jobDetailsJSON) overview() JobOverview {
	return JobOverview{
		ID: strings.ToLower(w.JID), Name: w.Name, State: messages.JobState(strings.ToUpper(w.State)),
		StartTime: millisTime(w.StartTime), EndTime: millisTime(w.EndTime), Duration: millisDuration(w.Duration),
		LastModification: millisTime(w.LastModification), Tasks: w.Tasks.counts(),
	}
}

// JobsOverview returns every job the JobManager at base knows (GET
// /jobs/overview), the call trackers poll most.
func (c *Client) JobsOverview(ctx context.Context, base string) ([]JobOverview, error) {
	var w struct {
		Jobs []jobDetailsJSON `json:"jobs"`
	}
	if err := c.getJSON(ctx, base, "/jobs/overview", &w); err != nil {
		return nil, err
	}
	out := make([]JobOverview, len(w.Jobs))
	for i := range w.Jobs {
		out[i] = w.Jobs[i].overview()
	}
	return out, nil
}

// JobDetails is GET /jobs/{jobid} (Flink's JobDetailsInfo), without the
// plan.
type JobDetails struct {
	// ID, Name and State as in JobOverview.
	ID    string
	Name  string
	State messages.JobState
	// StartTime, EndTime (zero while not globally terminal) and Duration.
	StartTime time.Time
	EndTime   time.Time
	Duration  time.Duration
	// Now is the JobManager's clock when it answered.
	Now time.Time
	// IsStoppable reports whether the job can be stopped with a savepoint
	// (all sources stoppable).
	IsStoppable bool
	// MaxParallelism is the job's max parallelism (-1: not set).
	MaxParallelism int
	// Timestamps maps each state the job entered (upper case, e.g.
	// "RUNNING") to when it last entered it; states never entered are
	// absent.
	Timestamps map[messages.JobState]time.Time
	// StatusCounts counts the job's tasks per execution state.
	StatusCounts TaskCounts
	// Vertices are the job's vertices.
	Vertices []Vertex
}

// Vertex is one job vertex of JobDetails.
type Vertex struct {
	// ID and Name of the vertex.
	ID   string
	Name string
	// Parallelism and MaxParallelism of the vertex.
	Parallelism    int
	MaxParallelism int
	// Status is the vertex's execution state (e.g. "RUNNING").
	Status string
	// StartTime and EndTime are zero when unknown (Flink writes -1).
	StartTime time.Time
	EndTime   time.Time
	// Duration is 0 when unknown.
	Duration time.Duration
	// Tasks counts the vertex's subtasks per execution state.
	Tasks TaskCounts
}

type jobDetailsInfoJSON struct {
	JID            string             `json:"jid"`
	Name           string             `json:"name"`
	State          string             `json:"state"`
	IsStoppable    bool               `json:"isStoppable"`
	StartTime      jsonInt            `json:"start-time"`
	EndTime        jsonInt            `json:"end-time"`
	Duration       jsonInt            `json:"duration"`
	MaxParallelism *jsonInt           `json:"maxParallelism"`
	Now            jsonInt            `json:"now"`
	Timestamps     map[string]jsonInt `json:"timestamps"`
	StatusCounts   taskCountsJSON     `json:"status-counts"`
	Vertices       []struct {
		ID             string         `json:"id"`
		Name           string         `json:"name"`
		Parallelism    jsonInt        `json:"parallelism"`
		MaxParallelism jsonInt        `json:"maxParallelism"`
		Status         string         `json:"status"`
		StartTime      jsonInt        `json:"start-time"`
		EndTime        jsonInt        `json:"end-time"`
		Duration       jsonInt        `json:"duration"`
		Tasks          taskCountsJSON `json:"tasks"`
	} `json:"vertices"`
}

// Job returns the details of job jobID on the JobManager at base. An
// unknown job is an *Error for which IsNotFound is true.
func (c *Client) Job(ctx context.Context, base, jobID string) (*JobDetails, error) {
	var w jobDetailsInfoJSON
	if err := c.getJSON(ctx, base, "/jobs/"+pathEscape(jobID), &w); err != nil {
		return nil, err
	}
	d := &JobDetails{
		ID: strings.ToLower(w.JID), Name: w.Name, State: messages.JobState(strings.ToUpper(w.State)), IsStoppable: w.IsStoppable,
		StartTime: millisTime(w.StartTime), EndTime: millisTime(w.EndTime), Duration: millisDuration(w.Duration),
		Now: millisTime(w.Now), MaxParallelism: -1, StatusCounts: w.StatusCounts.counts(),
		Timestamps: make(map[messages.JobState]time.Time, len(w.Timestamps)),
	}
	if w.MaxParallelism != nil {
		d.MaxParallelism = int(*w.MaxParallelism)
	}
	for k, v := range w.Timestamps {
		if t := millisTime(v); !t.IsZero() {
			d.Timestamps[messages.JobState(strings.ToUpper(k))] = t
		}
	}
	for _, v := range w.Vertices {
		d.Vertices = append(d.Vertices, Vertex{
			ID: v.ID, Name: v.Name, Parallelism: int(v.Parallelism), MaxParallelism: int(v.MaxParallelism), Status: v.Status,
			StartTime: millisTime(v.StartTime), EndTime: millisTime(v.EndTime), Duration: millisDuration(v.Duration), Tasks: v.Tasks.counts(),
		})
	}
	return d, nil
}

// pathEscape escapes one path segment (a job, jar or trigger id).
func pathEscape(s string) string { return url.PathEscape(s) }
