package flinksim

import (
	"net/http"
	"strconv"
	"strings"
)

const couldNotExecute = "org.apache.flink.runtime.rest.handler.RestHandlerException: Could not execute application.\n" +
	"\tat org.apache.flink.runtime.webmonitor.handlers.JarRunHandler.lambda$handleRequest$3(JarRunHandler.java:124)\n" +
	"Caused by: org.apache.flink.util.FlinkRuntimeException: Could not execute application.\n" +
	"Caused by: org.apache.flink.client.program.ProgramInvocationException: The main method caused an error: "

// duplicateJob is the cause Flink's Dispatcher gives when a job id is
// submitted twice, whether the first job still runs or already ended.
const duplicateJob = "org.apache.flink.runtime.client.DuplicateJobSubmissionException: Job has already been submitted."

// handleJarRun answers POST /jars/{jarid}/run. A client-chosen jobId that
// already exists on the cluster (running or terminated) is refused the way
// Flink refuses it: 400 "Could not execute application." caused by a
// DuplicateJobSubmissionException, and the existing job stays the only
// one. Clients that retry a submission must treat that error as "already
// submitted" and look the job up by its id.
func handleJarRun(c *Cluster, w http.ResponseWriter, r *http.Request, p *params) {
	if c.opts.Application {
		writeError(w, http.StatusNotFound, "Not found: "+requestURI(r, p.path))
		return
	}
	var req JarRunRequest
	if err := decodeBody(r, &req, "JarRunRequestBody"); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := mergeRunQuery(&req, r); err != nil {
		writeError(w, http.StatusBadRequest, badRequest("Bad request, could not parse parameters: "+err.Error()))
		return
	}
	req.JarID = p.jarID
	if req.JobID != "" {
		if id := strings.ToLower(req.JobID); isJobID(id) {
			req.JobID = id
		} else {
			writeError(w, http.StatusBadRequest, "Request did not match expected format JarRunRequestBody.")
			return
		}
	}
	c.mu.Lock()
	if msg := c.checkRun(&req); msg != "" {
		c.mu.Unlock()
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	spec := c.opts.Submit
	hook := c.opts.OnSubmit
	c.mu.Unlock()
	if hook != nil {
		var err error
		if spec, err = hook(req); err != nil {
			writeError(w, http.StatusBadRequest, couldNotExecute+err.Error()+"\n")
			return
		}
	}
	c.mu.Lock()
	if msg := c.checkRun(&req); msg != "" { // the hook ran unlocked
		c.mu.Unlock()
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	now := c.advance()
	spec.ID = req.JobID
	if req.Parallelism != nil && *req.Parallelism > 0 {
		spec.Parallelism = *req.Parallelism
	} else if spec.Parallelism <= 0 {
		spec.Parallelism, _ = strconv.Atoi(c.config("parallelism.default"))
	}
	if req.SavepointPath != "" {
		spec.RestoredFrom = req.SavepointPath
	}
	if name := req.FlinkConfiguration["pipeline.name"]; name != "" {
		spec.Name = name
	}
	j := c.addJob(spec, now)
	sub := req
	j.submission = &sub
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, struct {
		JobID string `json:"jobid"`
	}{j.id})
}

// checkRun returns Flink's error text when req cannot run. Caller holds
// c.mu.
func (c *Cluster) checkRun(req *JarRunRequest) string {
	found := false
	for _, j := range c.jars {
		found = found || j.ID == req.JarID
	}
	if !found {
		return restError("org.apache.flink.runtime.rest.handler.RestHandlerException",
			"Jar file "+c.uploadDir()+"/"+req.JarID+" does not exist")
	}
	if req.JobID != "" && c.jobs[req.JobID] != nil {
		return couldNotExecute + duplicateJob + "\nCaused by: " + duplicateJob + "\n"
	}
	return ""
}

// mergeRunQuery fills fields missing from the body from the query
// parameters (the body wins, as in Flink).
func mergeRunQuery(req *JarRunRequest, r *http.Request) error {
	q := r.URL.Query()
	if v := q.Get("entry-class"); v != "" && req.EntryClass == "" {
		req.EntryClass = v
	}
	if v := q.Get("programArg"); v != "" && len(req.ProgramArgsList) == 0 {
		req.ProgramArgsList = strings.Split(v, ",")
	}
	if v := q.Get("program-args"); v != "" && req.ProgramArgs == "" {
		req.ProgramArgs = v
	}
	if v := q.Get("savepointPath"); v != "" && req.SavepointPath == "" {
		req.SavepointPath = v
	}
	if v := q.Get("parallelism"); v != "" && req.Parallelism == nil {
		n, err := strconv.Atoi(v)
		if err != nil {
			return &queryError{"parallelism", v}
		}
		req.Parallelism = &n
	}
	if v := q.Get("allowNonRestoredState"); v != "" && req.AllowNonRestoredState == nil {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return &queryError{"allowNonRestoredState", v}
		}
		req.AllowNonRestoredState = &b
	}
	return nil
}

type queryError struct{ key, value string }

func (e *queryError) Error() string {
	return `Cannot resolve query parameter (` + e.key + `) from value "` + e.value + `".`
}
