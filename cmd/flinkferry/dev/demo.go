package dev

import "fmt"

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
