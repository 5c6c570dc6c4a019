package flinksim

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// lockJob validates p.jobID, locks and advances c and returns the job; it
// answers 400 or 404 itself and then returns nil with c unlocked. On
// success the caller must unlock c.mu.
func (c *Cluster) lockJob(w http.ResponseWriter, p *params) (*Job, time.Time) {
	return c.lockJobOr(w, p, "")
}

// lockJobOr is lockJob with Flink's not-found message of an endpoint
// ("" means "Job <id> not found").
func (c *Cluster) lockJobOr(w http.ResponseWriter, p *params, notFound string) (*Job, time.Time) {
	id := strings.ToLower(p.jobID)
	if !isJobID(id) {
		writeError(w, http.StatusBadRequest, badRequest(
			`Bad request, could not parse parameters: Cannot resolve path parameter (jobid) from value "`+p.jobID+`".`))
		return nil, time.Time{}
	}
	c.mu.Lock()
	now := c.advance()
	j := c.jobs[id]
	if j == nil {
		c.mu.Unlock()
		if notFound == "" {
			notFound = "Job " + id + " not found"
		}
		writeError(w, http.StatusNotFound, notFoundError(notFound))
		return nil, time.Time{}
	}
	return j, now
}

// jobIDWithStatus is Flink's JobIdWithStatus (GET /jobs).
type jobIDWithStatus struct {
	ID     string   `json:"id"`
	Status JobState `json:"status"`
}

func handleJobIDs(c *Cluster, w http.ResponseWriter, r *http.Request, p *params) {
	c.mu.Lock()
	c.advance()
	jobs := make([]jobIDWithStatus, len(c.order))
	for i, j := range c.order {
		jobs[i] = jobIDWithStatus{ID: j.id, Status: j.state}
	}
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, struct {
		Jobs []jobIDWithStatus `json:"jobs"`
	}{jobs})
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// handleJobsOverview answers GET /jobs/overview (MultipleJobsDetails), the
// endpoint trackers poll most, with a hand-written encoder.
func handleJobsOverview(c *Cluster, w http.ResponseWriter, r *http.Request, p *params) {
	buf := bufPool.Get().(*[]byte)
	b := append((*buf)[:0], `{"jobs":[`...)
	c.mu.Lock()
	now := c.advance()
	for i, j := range c.order {
		if i > 0 {
			b = append(b, ',')
		}
		b = j.appendDetails(b, now)
	}
	c.mu.Unlock()
	b = append(b, "]}"...)
	writeBody(w, http.StatusOK, b)
	*buf = b
	bufPool.Put(buf)
}

// lowerTaskKeys are JobDetails' task-count keys: Flink writes the
// lower-case ExecutionState names (in this order) and "total".
var lowerTaskKeys = [...]struct {
	key string
	st  execState
}{
	{"running", exRunning}, {"canceling", exCanceling}, {"canceled", exCanceled}, {"total", -1},
	{"created", exCreated}, {"scheduled", exScheduled}, {"deploying", exDeploying},
	{"reconciling", exReconciling}, {"finished", exFinished}, {"initializing", exInitializing}, {"failed", exFailed},
}

// appendDetails appends the job's JobDetails JSON. Caller holds the lock.
func (j *Job) appendDetails(b []byte, now time.Time) []byte {
	b = append(b, `{"jid":"`...)
	b = append(b, j.id...)
	b = append(b, `","name":`...)
	b = appendJSONString(b, j.spec.Name)
	b = append(b, `,"start-time":`...)
	b = strconv.AppendInt(b, millis(j.created), 10)
	b = append(b, `,"end-time":`...)
	b = strconv.AppendInt(b, j.endTime(), 10)
	b = append(b, `,"duration":`...)
	b = strconv.AppendInt(b, j.duration(now), 10)
	b = append(b, `,"state":"`...)
	b = append(b, j.state...)
	b = append(b, `","last-modification":`...)
	b = strconv.AppendInt(b, millis(j.lastMod), 10)
	b = append(b, `,"tasks":{`...)
	counts, total := j.tasks()
	for i, k := range lowerTaskKeys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, k.key...)
		b = append(b, `":`...)
		n := total
		if k.st >= 0 {
			n = counts[k.st]
		}
		b = strconv.AppendInt(b, int64(n), 10)
	}
	return append(b, "}}"...)
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == '"' || ch == '\\':
			b = append(b, '\\', ch)
		case ch < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[ch>>4], hexDigits[ch&0xf])
		default:
			b = append(b, ch)
		}
	}
	return append(b, '"')
}

func handleJobStatus(c *Cluster, w http.ResponseWriter, r *http.Request, p *params) {
	j, _ := c.lockJob(w, p)
	if j == nil {
		return
	}
	state := j.state
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, struct {
		Status JobState `json:"status"`
	}{state})
}

func handleJobDetails(c *Cluster, w http.ResponseWriter, r *http.Request, p *params) {
	j, now := c.lockJob(w, p)
	if j == nil {
		return
	}
	d := j.detailsInfo(now)
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, d)
}
