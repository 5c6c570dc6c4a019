package flinksim

import (
	"encoding/base64"
	"net/http"
	"strings"
)

func handleSavepointTrigger(c *Cluster, w http.ResponseWriter, r *http.Request, p *params) {
	var req savepointTriggerRequest
	if err := decodeBody(r, &req, "SavepointTriggerRequestBody"); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	c.trigger(w, p, &savepointOp{cancelJob: req.CancelJob}, req.TargetDirectory, req.FormatType, req.TriggerID, "target-directory")
}

func handleStop(c *Cluster, w http.ResponseWriter, r *http.Request, p *params) {
	var req stopRequest
	if err := decodeBody(r, &req, "StopWithSavepointRequestBody"); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	c.trigger(w, p, &savepointOp{stop: true}, req.TargetDirectory, req.FormatType, req.TriggerID, "targetDirectory")
}

// trigger starts a savepoint or stop-with-savepoint and answers 202 with
// its trigger id. Like Flink, it accepts the trigger for any job id and
// reports an unknown or non-running job through the operation's result.
func (c *Cluster) trigger(w http.ResponseWriter, p *params, op *savepointOp, dir, format, triggerID, dirField string) {
	jobID := strings.ToLower(p.jobID)
	if !isJobID(jobID) {
		writeError(w, http.StatusBadRequest, badRequest(
			`Bad request, could not parse parameters: Cannot resolve path parameter (jobid) from value "`+p.jobID+`".`))
		return
	}
	switch format {
	case "":
		format = "CANONICAL"
	case "CANONICAL", "NATIVE":
	default:
		writeError(w, http.StatusBadRequest, "Request did not match expected format.")
		return
	}
	if triggerID != "" && !isJobID(triggerID) {
		writeError(w, http.StatusBadRequest, "Request did not match expected format.")
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.advance()
	if dir == "" {
		dir = c.config(keySavepointsDir)
	}
	if dir == "" {
		writeError(w, http.StatusBadRequest, restError("org.apache.flink.runtime.rest.handler.RestHandlerException",
			"Config key ["+keySavepointsDir+"] is not set. Property ["+dirField+"] must be provided."))
		return
	}
	if triggerID == "" {
		triggerID = c.hex(32)
	}
	if c.ops[opKey(jobID, triggerID)] == nil { // a repeated triggerId is the same operation
		op.triggerID, op.jobID, op.dir, op.format = triggerID, jobID, strings.TrimSuffix(dir, "/"), format
		c.ops[opKey(jobID, triggerID)] = op
		if j := c.jobs[jobID]; j != nil {
			j.startOp(op, now)
		} else {
			op.started, op.done, op.doneAt = now, true, now
			op.failure = "org.apache.flink.runtime.messages.FlinkJobNotFoundException: Could not find Flink job (" + jobID + ")"
		}
	}
	writeJSON(w, http.StatusAccepted, struct {
		RequestID string `json:"request-id"`
	}{triggerID})
}

// asyncResult is Flink's AsynchronousOperationResult; operation is null
// while the operation is in progress.
type asyncResult struct {
	Status    queueStatus    `json:"status"`
	Operation *savepointInfo `json:"operation"`
}

type queueStatus struct {
	ID string `json:"id"`
}

// savepointInfo is Flink's SavepointInfo: exactly one field is set.
type savepointInfo struct {
	Location     string               `json:"location,omitempty"`
	FailureCause *serializedThrowable `json:"failure-cause,omitempty"`
}

// serializedThrowable is how Flink's SerializedThrowableSerializer writes
// an exception.
type serializedThrowable struct {
	Class               string `json:"class"`
	StackTrace          string `json:"stack-trace"`
	SerializedThrowable string `json:"serialized-throwable"`
}

// newSerializedThrowable describes cause ("<class>: <message>").
func newSerializedThrowable(cause string) *serializedThrowable {
	class, _, _ := strings.Cut(cause, ":")
	stack := cause + "\n\tat org.apache.flink.runtime.checkpoint.CheckpointCoordinator.abortPendingCheckpoint(CheckpointCoordinator.java:2206)\n"
	// Java serialization stream magic, then the text: opaque to clients.
	raw := append([]byte{0xac, 0xed, 0x00, 0x05}, stack...)
	return &serializedThrowable{
		Class: class, StackTrace: stack, SerializedThrowable: base64.StdEncoding.EncodeToString(raw),
	}
}

func handleSavepointStatus(c *Cluster, w http.ResponseWriter, r *http.Request, p *params) {
	jobID, triggerID := strings.ToLower(p.jobID), strings.ToLower(p.triggerID)
	for _, v := range [][2]string{{"jobid", p.jobID}, {"triggerid", p.triggerID}} {
		if !isJobID(strings.ToLower(v[1])) {
			writeError(w, http.StatusBadRequest, badRequest(
				`Bad request, could not parse parameters: Cannot resolve path parameter (`+v[0]+`) from value "`+v[1]+`".`))
			return
		}
	}
	c.mu.Lock()
	c.advance()
	op := c.ops[opKey(jobID, triggerID)]
	var res asyncResult
	if op != nil {
		res.Status.ID = "IN_PROGRESS"
		if op.done {
			res.Status.ID = "COMPLETED"
			res.Operation = &savepointInfo{Location: op.location}
			if op.failure != "" {
				res.Operation = &savepointInfo{FailureCause: newSerializedThrowable(op.failure)}
			}
		}
	}
	c.mu.Unlock()
	if op == nil {
		writeError(w, http.StatusNotFound, notFoundError(
			"Operation not found under key: AsynchronousJobOperationKey{triggerId="+triggerID+", jobId="+jobID+"}"))
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func handleCancel(c *Cluster, w http.ResponseWriter, r *http.Request, p *params) {
	switch mode := r.URL.Query().Get("mode"); strings.ToUpper(mode) {
	case "", "CANCEL":
	case "STOP":
		writeError(w, http.StatusBadRequest, restError("org.apache.flink.runtime.rest.handler.RestHandlerException",
			`The termination mode "stop" has been removed. For an ungraceful shutdown, please use "cancel" instead. For a graceful shutdown, please use "jobs/:jobId/stop" instead.`))
		return
	default:
		writeError(w, http.StatusBadRequest, badRequest(
			`Bad request, could not parse parameters: Cannot resolve query parameter (mode) from value "`+mode+`".`))
		return
	}
	j, now := c.lockJobOr(w, p, "Job could not be found.")
	if j == nil {
		return
	}
	status, msg := j.cancel(now)
	c.mu.Unlock()
	if status != http.StatusAccepted {
		writeError(w, status, restError("org.apache.flink.runtime.rest.handler.RestHandlerException", msg))
		return
	}
	writeBody(w, status, emptyBody)
}
