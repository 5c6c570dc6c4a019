package flinksim_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/flinksim"
)

// exchange is one request the simulator answered.
type exchange struct {
	method, path string // path is the Flink path, without /c/NAME
	status       int
	body         []byte
}

func (x exchange) String() string {
	return fmt.Sprintf("%s %s -> %d %.300s", x.method, x.path, x.status, x.body)
}

func hexID(n int) string { return fmt.Sprintf("%032x", n) }

// recordResponses drives every endpoint through every lifecycle state,
// checkpoint situation, savepoint outcome and error the simulator has, and
// returns all the answers.
func recordResponses(t testing.TB) []exchange {
	t.Helper()
	e := newEnv(t)
	var out []exchange
	send := func(srv http.Handler, method, url string, body io.Reader, ct string) []byte {
		req := httptest.NewRequest(method, url, body)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		p := req.URL.Path
		if rest, ok := strings.CutPrefix(p, "/c/"); ok {
			_, p, _ = strings.Cut(rest, "/")
			p = "/" + p
		}
		out = append(out, exchange{method: method, path: p, status: rec.Code, body: rec.Body.Bytes()})
		return rec.Body.Bytes()
	}
	call := func(method, url, body string) []byte {
		return send(e.srv, method, url, strings.NewReader(body), "application/json")
	}
	get := func(url string) { call(http.MethodGet, url, "") }

	cps := flinksim.CheckpointSpec{Interval: 10 * time.Second, Duration: 2 * time.Second, FailEvery: 3}
	running := flinksim.Script{{State: flinksim.Running}}
	specs := []flinksim.JobSpec{{ID: hexID(1), Checkpoints: cps}} // default script
	for i, s := range flinksim.JobStates() {
		specs = append(specs, flinksim.JobSpec{ID: hexID(10 + i), Checkpoints: cps, Script: flinksim.Script{
			{State: flinksim.Running, For: 25 * time.Second}, {State: s, Cause: "java.lang.RuntimeException: boom"},
		}})
	}
	specs = append(specs,
		flinksim.JobSpec{ID: hexID(30), RestoredFrom: "s3://sp/savepoint-1", Checkpoints: cps, Script: flinksim.Script{
			{State: flinksim.Running, For: 20 * time.Second}, {State: flinksim.Restarting, For: 5 * time.Second}, {State: flinksim.Running},
		}},
		flinksim.JobSpec{ID: hexID(31), Script: running, Savepoints: flinksim.SavepointSpec{Duration: 5 * time.Second}},
		flinksim.JobSpec{ID: hexID(32), Script: running, Savepoints: flinksim.SavepointSpec{Duration: 5 * time.Second, Fail: true}},
		flinksim.JobSpec{ID: hexID(33), Script: running, CancelFor: 10 * time.Second},
		flinksim.JobSpec{ID: hexID(34), Script: running, Checkpoints: cps},
	)
	session := e.srv.AddCluster("session", flinksim.ClusterOptions{TaskManagers: 2, Jobs: specs})
	e.srv.AddCluster("app", flinksim.ClusterOptions{Application: true, Jobs: []flinksim.JobSpec{{ID: hexID(40)}}})
	e.srv.AddCluster("nodir", flinksim.ClusterOptions{Config: map[string]string{"state.savepoints.dir": ""},
		Jobs: []flinksim.JobSpec{{ID: hexID(50), Script: running}}})

	// Asynchronous operations: in progress, succeeded, failed, refused.
	var statusURLs []string
	trig := func(job, kind, body string) {
		b := call(http.MethodPost, "/c/session/jobs/"+job+"/"+kind, body)
		if i := strings.Index(string(b), `"request-id":"`); i >= 0 {
			statusURLs = append(statusURLs, "/c/session/jobs/"+job+"/savepoints/"+string(b[i+14:i+46]))
		}
	}
	trig(hexID(31), "savepoints", `{"target-directory":"s3://sp","cancel-job":false,"formatType":"CANONICAL"}`)
	trig(hexID(32), "savepoints", `{"target-directory":"s3://sp"}`)
	trig(hexID(34), "stop", `{"targetDirectory":"s3://sp","drain":true}`)
	trig(hexID(1), "savepoints", `{}`)  // INITIALIZING: fails at once
	trig(hexID(99), "savepoints", `{}`) // unknown job
	call(http.MethodPatch, "/c/session/jobs/"+hexID(33)+"?mode=cancel", "")

	snapshot := func() {
		for _, base := range []string{"/c/session", "/c/app"} {
			for _, p := range []string{"/config", "/overview", "/jobmanager/config", "/taskmanagers", "/jobs", "/jobs/overview"} {
				get(base + p)
			}
		}
		for _, j := range session.Jobs() {
			for _, sfx := range []string{"", "/status", "/checkpoints", "/checkpoints/config", "/exceptions"} {
				get("/c/session/jobs/" + j.ID() + sfx)
			}
		}
		for _, u := range statusURLs {
			get(u)
		}
	}
	for _, d := range []time.Duration{0, 6 * time.Second, 5 * time.Second, 10 * time.Second, 5 * time.Second, 5 * time.Second, 15 * time.Second, time.Hour} {
		e.clock.Advance(d)
		snapshot()
	}

	// Savepoint disposal: an existing savepoint, the same path again (gone
	// by then: a failure cause), an unknown trigger, a malformed request.
	sps := session.Savepoints()
	if len(sps) == 0 {
		t.Fatal("no savepoint completed in the scenario")
	}
	for range 2 {
		b := call(http.MethodPost, "/c/session/savepoint-disposal", `{"savepoint-path":"`+sps[0]+`"}`)
		if i := strings.Index(string(b), `"request-id":"`); i >= 0 {
			get("/c/session/savepoint-disposal/" + string(b[i+14:i+46]))
		}
	}
	get("/c/session/savepoint-disposal/" + hexID(78))
	get("/c/session/savepoint-disposal/bogus")
	call(http.MethodPost, "/c/session/savepoint-disposal", `{"path":"x"}`)

	// Jars.
	body, ct := multipartJar(t, "jarfile", "job.jar", testJar(t))
	b := send(e.srv, http.MethodPost, "/c/session/jars/upload", body, ct)
	jarID := string(b[strings.LastIndex(string(b), "/")+1 : strings.Index(string(b), `","status"`)])
	get("/c/session/jars")
	run := `{"entryClass":"com.example.StreamingJob","programArgsList":["a"],"parallelism":2,"jobId":"` + hexID(60) + `"}`
	call(http.MethodPost, "/c/session/jars/"+jarID+"/run", run)
	call(http.MethodPost, "/c/session/jars/"+jarID+"/run", run) // duplicate: 400
	call(http.MethodPost, "/c/session/jars/"+jarID+"/run", `{"parallelism":"x"}`)
	call(http.MethodPost, "/c/session/jars/missing.jar/run", `{}`)
	call(http.MethodPost, "/c/session/jars/upload", "")
	body, ct = multipartJar(t, "jarfile", "readme.txt", []byte("x"))
	send(e.srv, http.MethodPost, "/c/session/jars/upload", body, ct)
	get("/c/app/jars")

	// Errors.
	for _, sfx := range []string{"", "/status", "/checkpoints", "/checkpoints/config", "/exceptions"} {
		get("/c/session/jobs/" + hexID(99) + sfx)
		get("/c/session/jobs/not-a-job-id" + sfx)
	}
	get("/c/session/jobs/" + hexID(31) + "/savepoints/" + hexID(77))
	get("/c/session/jobs/" + hexID(31) + "/savepoints/bogus")
	call(http.MethodPost, "/c/session/jobs/"+hexID(31)+"/savepoints", `{"target":"x"}`)
	call(http.MethodPost, "/c/nodir/jobs/"+hexID(50)+"/savepoints", `{}`)
	call(http.MethodPost, "/c/nodir/jobs/"+hexID(50)+"/stop", `{}`)
	call(http.MethodPatch, "/c/session/jobs/"+hexID(17)+"?mode=cancel", "") // FINISHED: 409
	call(http.MethodPatch, "/c/session/jobs/"+hexID(31)+"?mode=stop", "")
	call(http.MethodPatch, "/c/session/jobs/"+hexID(99)+"?mode=cancel", "")
	get("/c/session/no/such/path")
	call(http.MethodPost, "/c/session/jobs/overview", "")
	strict := flinksim.New(flinksim.ServerOptions{WrongMethodStatus: http.StatusMethodNotAllowed})
	strict.AddCluster("c", flinksim.ClusterOptions{})
	send(strict, http.MethodPut, "/c/c/overview", nil, "")
	faulty := e.srv.AddCluster("faulty", flinksim.ClusterOptions{})
	faulty.InjectFault(flinksim.Fault{Kind: flinksim.FaultError, Times: 1})
	faulty.InjectFault(flinksim.Fault{Kind: flinksim.FaultError, Status: 503, Message: "busy", Times: 1})
	get("/c/faulty/overview")
	get("/c/faulty/overview")
	call(http.MethodDelete, "/c/faulty/cluster", "")
	return out
}
