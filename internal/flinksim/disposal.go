package flinksim

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// disposalOp is a savepoint disposal (POST /savepoint-disposal), queried
// through GET /savepoint-disposal/{triggerid}. Flink disposes in the
// background; the simulator completes at once.
type disposalOp struct {
	path    string
	failure string
	at      time.Time // when it completed
}

const disposalNotFoundCause = "java.io.FileNotFoundException: Cannot find meta data file '_metadata' in directory '%s'. Please try to load the checkpoint/savepoint directly from the metadata file instead of the directory."

// Savepoints returns the locations of the cluster's savepoints that exist
// (completed and not disposed) at the clock's time, sorted.
func (c *Cluster) Savepoints() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance()
	out := make([]string, 0, len(c.savepoints))
	for p := range c.savepoints {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// Disposals returns the paths disposal was requested for, in no order,
// successful or not.
func (c *Cluster) Disposals() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.disposals))
	for _, d := range c.disposals {
		out = append(out, d.path)
	}
	return out
}

func handleDisposalTrigger(c *Cluster, w http.ResponseWriter, r *http.Request, p *params) {
	var req disposalRequest
	if err := decodeBody(r, &req, "SavepointDisposalRequest"); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.SavepointPath == "" {
		writeError(w, http.StatusBadRequest, badRequest("Field 'savepoint-path' must not be null."))
		return
	}
	c.mu.Lock()
	now := c.advance()
	id := c.hex(32)
	op := &disposalOp{path: strings.TrimSuffix(req.SavepointPath, "/"), at: now}
	if c.savepoints[op.path] {
		delete(c.savepoints, op.path)
	} else {
		op.failure = formatCause(disposalNotFoundCause, op.path)
	}
	c.disposals[id] = op
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, struct {
		RequestID string `json:"request-id"`
	}{id})
}

// disposalResult is AsynchronousOperationResult with an
// AsynchronousOperationInfo (empty on success).
type disposalResult struct {
	Status    queueStatus `json:"status"`
	Operation *struct {
		FailureCause *serializedThrowable `json:"failure-cause,omitempty"`
	} `json:"operation"`
}

func handleDisposalStatus(c *Cluster, w http.ResponseWriter, r *http.Request, p *params) {
	id := strings.ToLower(p.triggerID)
	if !isJobID(id) {
		writeError(w, http.StatusBadRequest, badRequest(
			`Bad request, could not parse parameters: Cannot resolve path parameter (triggerid) from value "`+p.triggerID+`".`))
		return
	}
	c.mu.Lock()
	c.advance()
	op := c.disposals[id]
	c.mu.Unlock()
	if op == nil {
		writeError(w, http.StatusNotFound, notFoundError("Operation not found under key: OperationKey{triggerId="+id+"}"))
		return
	}
	var res disposalResult
	res.Status.ID = "COMPLETED"
	res.Operation = &struct {
		FailureCause *serializedThrowable `json:"failure-cause,omitempty"`
	}{}
	if op.failure != "" {
		res.Operation.FailureCause = newSerializedThrowable(op.failure)
	}
	writeJSON(w, http.StatusOK, res)
}
