package dev

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/flinkferry/flinkferry/internal/flinksim"
)

// DemoRequest returns a built-in application submit request (plain JSON,
// messages.SubmitRequested) for cluster id in Namespace running the
// example jar at jarURL.
func DemoRequest(id, jarURL string) []byte {
	return fmt.Appendf(nil, `{
  "request_id": %q,
  "job": {"namespace": %q, "cluster_id": %q},
  "mode": "application",
  "flink": {"version": "1.20", "parallelism": 1,
    "jobmanager": {"memory": "1024m", "cpu": 0.5},
    "taskmanager": {"memory": "1024m", "cpu": 0.5, "slots": 1}},
  "program": {"jar": {"url": %q}, "main_class": "org.apache.flink.examples.WordCount"}
}`, "dev-demo-"+id, Namespace, id, jarURL)
}

// ControlPath is the URL path prefix, on the artifact server, of the dev
// controls (POST <ArtifactsURL>/-/fail/<cluster-id>).
const ControlPath = "/-/"

// FailOptions say how a simulated job fails.
type FailOptions struct {
	// Cause is the root exception shown by Flink (a default when empty).
	Cause string
	// Restart, when > 0, makes the job RESTARTING for that long, then
	// RUNNING again (a failure Flink's restart strategy recovers from);
	// 0 makes it FAILED for good.
	Restart time.Duration
}

// FailJob makes the simulated Flink job of cluster id fail. Only jobs of
// the simulated cluster (application mode) can be failed.
func (k *Kube) FailJob(id string, o FailOptions) error {
	if k.Sim == nil {
		return errors.New("only jobs of the simulated cluster can be made to fail")
	}
	c := k.Sim.Cluster(id + "-rest")
	if c == nil {
		return fmt.Errorf("no simulated JobManager for %q (an application job of this dev instance): %w", id, ErrNotFound)
	}
	var job *flinksim.Job
	for _, j := range c.Jobs() {
		if s := j.State(); s == flinksim.Running || s == flinksim.Restarting || s == flinksim.Created {
			job = j
			break
		}
	}
	if job == nil {
		return fmt.Errorf("%q has no running Flink job: %w", id, ErrNotFound)
	}
	if o.Restart <= 0 {
		cause := o.Cause
		if cause == "" {
			cause = "java.lang.RuntimeException: failure injected by flinkferry dev fail\n\tat org.apache.flink.examples.WordCount.main(WordCount.java:42)"
		}
		job.Fail(cause)
		return nil
	}
	job.SetState(flinksim.Restarting)
	time.AfterFunc(o.Restart, func() {
		if job.State() == flinksim.Restarting {
			job.SetState(flinksim.Running)
		}
	})
	return nil
}

// ErrNotFound is a dev control naming no job of this instance.
var ErrNotFound = errors.New("not found")

// ControlHandler serves the dev controls: POST /-/fail/<cluster-id>
// (query: cause, restart=<duration>).
func ControlHandler(k *Kube) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+ControlPath+"fail/{id}", func(w http.ResponseWriter, r *http.Request) {
		o := FailOptions{Cause: r.URL.Query().Get("cause")}
		if s := r.URL.Query().Get("restart"); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil || d < 0 || d > time.Hour {
				http.Error(w, "restart: a duration up to 1h", http.StatusBadRequest)
				return
			}
			o.Restart = d
		}
		if err := k.FailJob(r.PathValue("id"), o); err != nil {
			status := http.StatusConflict
			if errors.Is(err, ErrNotFound) {
				status = http.StatusNotFound
			}
			http.Error(w, err.Error(), status)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}
