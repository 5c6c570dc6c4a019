package flinksim

import (
	"net/http"
	"strings"
)

// handler serves one Flink endpoint of cluster c.
type handler func(c *Cluster, w http.ResponseWriter, r *http.Request, p *params)

// params are the path parameters of a request.
type params struct {
	path      string // the Flink path, without any /c/NAME prefix
	jobID     string
	triggerID string
	jarID     string
}

// serve answers a request for cluster c at Flink path path.
func (c *Cluster) serve(w http.ResponseWriter, r *http.Request, path string) {
	c.requests.Add(1)
	if f := c.takeFault(r.Method, path); f != nil {
		if c.applyFault(f, w, r, path) {
			return
		}
	}
	if c.checkShutdown() {
		c.s.vanished(w, r, c.name)
		return
	}
	c.route(w, r, path)
}

// checkShutdown removes an application cluster whose jobs all ended when
// it is configured to shut down on application finish.
func (c *Cluster) checkShutdown() bool {
	if !c.opts.Application || !c.opts.ShutdownOnApplicationFinish {
		return false
	}
	c.mu.Lock()
	c.advance()
	gone := c.finishedApplication()
	c.mu.Unlock()
	if gone {
		c.s.removeIf(c)
	}
	return gone
}

func (c *Cluster) route(w http.ResponseWriter, r *http.Request, path string) {
	p := params{path: path}
	var segs [5]string
	n := 0
	for s := range strings.SplitSeq(strings.Trim(path, "/"), "/") {
		if n == len(segs) {
			n = -1
			break
		}
		segs[n] = s
		n++
	}
	h, known := lookup(r.Method, segs, n, &p)
	switch {
	case h != nil:
		h(c, w, r, &p)
	case known && c.s.wrongMethod != http.StatusNotFound:
		writeError(w, c.s.wrongMethod, "Method not allowed: "+r.Method+" "+path)
	default:
		writeError(w, http.StatusNotFound, "Not found: "+requestURI(r, path))
	}
}

// requestURI is the URI Flink saw: the path without the /c/NAME prefix.
func requestURI(r *http.Request, path string) string {
	if r.URL.RawQuery != "" {
		return path + "?" + r.URL.RawQuery
	}
	return path
}

// lookup finds the handler of method at the path segments; known reports
// whether the path exists for some other method.
func lookup(method string, s [5]string, n int, p *params) (h handler, known bool) {
	one := func(want string, h handler) (handler, bool) {
		if method == want {
			return h, true
		}
		return nil, true
	}
	switch {
	case n == 1 && s[0] == "config":
		return one(http.MethodGet, handleDashboardConfig)
	case n == 1 && s[0] == "overview":
		return one(http.MethodGet, handleOverview)
	case n == 1 && s[0] == "taskmanagers":
		return one(http.MethodGet, handleTaskManagers)
	case n == 1 && s[0] == "cluster":
		return one(http.MethodDelete, handleShutdown)
	case n == 1 && s[0] == "jobs":
		return one(http.MethodGet, handleJobIDs)
	case n == 1 && s[0] == "jars":
		return one(http.MethodGet, handleJarList)
	case n == 1 && s[0] == "savepoint-disposal":
		return one(http.MethodPost, handleDisposalTrigger)
	case n == 2 && s[0] == "savepoint-disposal":
		p.triggerID = s[1]
		return one(http.MethodGet, handleDisposalStatus)
	case n == 2 && s[0] == "jobmanager" && s[1] == "config":
		return one(http.MethodGet, handleJobManagerConfig)
	case n == 2 && s[0] == "jars" && s[1] == "upload":
		return one(http.MethodPost, handleJarUpload)
	case n == 2 && s[0] == "jobs" && s[1] == "overview" && method == http.MethodGet:
		return handleJobsOverview, true
	case n == 2 && s[0] == "jobs":
		p.jobID = s[1]
		switch method {
		case http.MethodGet:
			return handleJobDetails, true
		case http.MethodPatch:
			return handleCancel, true
		}
		return nil, true
	case n == 3 && s[0] == "jars" && s[2] == "run":
		p.jarID = s[1]
		return one(http.MethodPost, handleJarRun)
	case n == 3 && s[0] == "jobs":
		p.jobID = s[1]
		switch s[2] {
		case "status":
			return one(http.MethodGet, handleJobStatus)
		case "checkpoints":
			return one(http.MethodGet, handleCheckpoints)
		case "exceptions":
			return one(http.MethodGet, handleExceptions)
		case "savepoints":
			return one(http.MethodPost, handleSavepointTrigger)
		case "stop":
			return one(http.MethodPost, handleStop)
		}
	case n == 4 && s[0] == "jobs" && s[2] == "savepoints":
		p.jobID, p.triggerID = s[1], s[3]
		return one(http.MethodGet, handleSavepointStatus)
	case n == 4 && s[0] == "jobs" && s[2] == "checkpoints" && s[3] == "config":
		p.jobID = s[1]
		return one(http.MethodGet, handleCheckpointConfig)
	}
	return nil, false
}
