package flinksim_test

import (
	"strings"
	"testing"
)

// TestContractCatchesDrift makes sure the contract rejects what it must.
func TestContractCatchesDrift(t *testing.T) {
	ct := newContract(t, specJSON(t), "")
	job := `{"jid":"` + hexID(1) + `","name":"j","start-time":1,"end-time":-1,"duration":1,"state":"RUNNING","last-modification":1,"tasks":{"running":1}}`
	cp := func(entry string) string {
		return `{"counts":{"restored":0,"total":1,"in_progress":0,"completed":1,"failed":0},"latest":{"completed":null,"savepoint":null,"failed":null,"restored":null},"history":[` + entry + `]}`
	}
	entry := func(class, extra string) string {
		return `{"@class":"` + class + `","id":1,"status":"COMPLETED","is_savepoint":false,"savepointFormat":null,"trigger_timestamp":1,"latest_ack_timestamp":2,"checkpointed_size":1,"state_size":1,"end_to_end_duration":1,"alignment_buffered":0,"processed_data":0,"persisted_data":0,"num_subtasks":1,"num_acknowledged_subtasks":1,"checkpoint_type":"CHECKPOINT","tasks":{}` + extra + `}`
	}
	tests := []struct {
		name   string
		x      exchange
		wantOK bool
	}{
		{"valid overview", exchange{"GET", "/jobs/overview", 200, []byte(`{"jobs":[` + job + `]}`)}, true},
		{"unknown field", exchange{"GET", "/jobs/overview", 200, []byte(`{"jobs":[` + strings.Replace(job, `"name"`, `"title"`, 1) + `]}`)}, false},
		{"wrong type", exchange{"GET", "/jobs/overview", 200, []byte(`{"jobs":[` + strings.Replace(job, `"duration":1`, `"duration":"1"`, 1) + `]}`)}, false},
		{"unknown state", exchange{"GET", "/jobs/overview", 200, []byte(`{"jobs":[` + strings.Replace(job, `RUNNING`, `RUNNIN`, 1) + `]}`)}, false},
		{"bad job id", exchange{"GET", "/jobs/overview", 200, []byte(`{"jobs":[` + strings.Replace(job, hexID(1), "x", 1) + `]}`)}, false},
		{"int32 overflow", exchange{"GET", "/jobs/overview", 200, []byte(`{"jobs":[` + strings.Replace(job, `"running":1`, `"running":3000000000`, 1) + `]}`)}, false},
		{"completed checkpoint", exchange{"GET", "/jobs/" + hexID(1) + "/checkpoints", 200, []byte(cp(entry("completed", `,"external_path":"s3://x","discarded":false`)))}, true},
		{"className instead of @class", exchange{"GET", "/jobs/" + hexID(1) + "/checkpoints", 200, []byte(cp(strings.Replace(entry("completed", ""), "@class", "className", 1)))}, false},
		{"unknown @class", exchange{"GET", "/jobs/" + hexID(1) + "/checkpoints", 200, []byte(cp(entry("done", "")))}, false},
		{"failed fields on completed", exchange{"GET", "/jobs/" + hexID(1) + "/checkpoints", 200, []byte(cp(entry("completed", `,"failure_message":"x"`)))}, false},
		{"error body", exchange{"GET", "/jobs/" + hexID(1), 404, []byte(`{"errors":["Job not found"]}`)}, true},
		{"error body as text", exchange{"GET", "/jobs/" + hexID(1), 404, []byte(`{"error":"Job not found"}`)}, false},
		{"undocumented success", exchange{"GET", "/jobs/" + hexID(1), 201, []byte(`{}`)}, false},
		{"unrouted 200", exchange{"GET", "/nope", 200, []byte(`{}`)}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ct.check(tc.x)
			if got := err == nil; got != tc.wantOK {
				t.Errorf("check(%v) = %v, want ok %v", tc.x, err, tc.wantOK)
			}
		})
	}
}
