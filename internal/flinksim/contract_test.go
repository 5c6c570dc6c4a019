package flinksim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// endpoints are the Flink endpoints the simulator serves, with the success
// status each must answer.
var endpoints = []struct {
	method, path string
	status       int
	errors       bool // the endpoint has error answers of its own
}{
	{"GET", "/config", 200, false},
	{"GET", "/overview", 200, false},
	{"GET", "/jobs/overview", 200, false},
	{"GET", "/jobs", 200, false},
	{"GET", "/jobs/{jobid}", 200, true},
	{"PATCH", "/jobs/{jobid}", 202, true},
	{"GET", "/jobs/{jobid}/status", 200, true},
	{"GET", "/jobs/{jobid}/checkpoints", 200, true},
	{"GET", "/jobs/{jobid}/checkpoints/config", 200, true},
	{"GET", "/jobs/{jobid}/exceptions", 200, true},
	{"GET", "/jobmanager/config", 200, false},
	{"GET", "/taskmanagers", 200, false},
	{"POST", "/jars/upload", 200, true},
	{"GET", "/jars", 200, true},
	{"POST", "/jars/{jarid}/run", 200, true},
	{"POST", "/jobs/{jobid}/savepoints", 202, true},
	{"POST", "/jobs/{jobid}/stop", 202, true},
	{"GET", "/jobs/{jobid}/savepoints/{triggerid}", 200, true},
	{"DELETE", "/cluster", 200, false},
}

func TestEndpointsAreInSpec(t *testing.T) {
	spec := loadSpec(t)
	for _, ep := range endpoints {
		op := obj(obj(obj(spec, "paths"), ep.path), strings.ToLower(ep.method))
		if op == nil {
			t.Errorf("spec has no %s %s", ep.method, ep.path)
			continue
		}
		if obj(obj(op, "responses"), strconv.Itoa(ep.status)) == nil {
			t.Errorf("spec: %s %s does not answer %d", ep.method, ep.path, ep.status)
		}
	}
}

// contract validates simulator answers against the spec.
type contract struct {
	spec    map[string]any
	paths   []string
	schemas map[string]*jsonschema.Schema // "METHOD path status" and "error"
}

// newContract compiles the spec with every deviation but skip applied.
func newContract(t testing.TB, raw []byte, skip string) *contract {
	t.Helper()
	var spec map[string]any
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	for _, d := range deviations {
		if d.name == skip {
			continue
		}
		if err := d.apply(spec); err != nil {
			t.Fatalf("deviation %s no longer applies: %v", d.name, err)
		}
	}
	ct := &contract{spec: spec, schemas: map[string]*jsonschema.Schema{}}
	extra := map[string]any{}
	keys := map[string]string{} // def name -> schema key
	forEachOperation(spec, func(p, m string, op map[string]any) {
		for status, r := range obj(op, "responses") {
			s := obj(obj(obj(r.(map[string]any), "content"), "application/json"), "schema")
			if s == nil {
				continue
			}
			def := fmt.Sprintf("response%d", len(extra))
			extra[def] = s
			keys[def] = m + " " + p + " " + status
		}
	})
	if componentSchemas(spec)["ErrorResponseBody"] != nil {
		extra["unrouted"] = map[string]any{"$ref": "#/components/schemas/ErrorResponseBody"}
		keys["unrouted"] = "error"
	}
	doc, err := newConverter(spec).document(extra)
	if err != nil {
		t.Fatalf("converting the spec: %v", err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	res, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	const url = "https://flinksim.invalid/flink-rest-api.json"
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(url, res); err != nil {
		t.Fatal(err)
	}
	for def, key := range keys {
		sch, err := c.Compile(url + "#/$defs/" + def)
		if err != nil {
			t.Fatalf("compiling %s: %v", key, err)
		}
		ct.schemas[key] = sch
	}
	for p := range obj(spec, "paths") {
		ct.paths = append(ct.paths, p)
	}
	sort.Strings(ct.paths)
	return ct
}

// specPath returns the spec path template matching a Flink path,
// preferring the template with the most literal segments.
func (ct *contract) specPath(p string) string {
	segs := strings.Split(strings.Trim(p, "/"), "/")
	best, bestLiterals := "", -1
	for _, tmpl := range ct.paths {
		ts := strings.Split(strings.Trim(tmpl, "/"), "/")
		if len(ts) != len(segs) {
			continue
		}
		literals := 0
		for i, s := range ts {
			if strings.HasPrefix(s, "{") {
				continue
			}
			if s != segs[i] {
				literals = -1
				break
			}
			literals++
		}
		if literals > bestLiterals {
			best, bestLiterals = tmpl, literals
		}
	}
	return best
}

// check validates one answer: a documented status against its schema, an
// error status against the operation's default response; a request the
// spec has no operation for must be a 404 or 405 error.
func (ct *contract) check(x exchange) (key string, err error) {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(x.body))
	if err != nil {
		return "", fmt.Errorf("body is not JSON: %w", err)
	}
	p := ct.specPath(x.path)
	op := obj(obj(obj(ct.spec, "paths"), p), strings.ToLower(x.method))
	switch {
	case op == nil && (x.status == http.StatusNotFound || x.status == http.StatusMethodNotAllowed):
		key = "error"
	case op == nil:
		return "", fmt.Errorf("no spec operation, yet status %d", x.status)
	case obj(obj(op, "responses"), strconv.Itoa(x.status)) != nil:
		key = x.method + " " + p + " " + strconv.Itoa(x.status)
	case x.status >= 400:
		key = x.method + " " + p + " default"
	default:
		return "", fmt.Errorf("status %d is not in the spec", x.status)
	}
	sch := ct.schemas[key]
	if sch == nil {
		return key, fmt.Errorf("spec has no JSON schema for %s", key)
	}
	if err := sch.Validate(inst); err != nil {
		return key, fmt.Errorf("%s: %v", key, err)
	}
	return key, nil
}

func specJSON(t testing.TB) []byte {
	t.Helper()
	b, err := json.Marshal(loadSpec(t))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestContract checks every answer the simulator gives against Flink's
// OpenAPI spec plus the listed deviations, and that every endpoint was
// exercised with its success status and with errors.
func TestContract(t *testing.T) {
	ct := newContract(t, specJSON(t), "")
	seen := map[string]int{}
	for _, x := range recordResponses(t) {
		if _, err := ct.check(x); err != nil {
			t.Errorf("%v\n  %v", x, err)
		}
		seen[x.method+" "+ct.specPath(x.path)+" "+strconv.Itoa(x.status)]++
		if x.status >= 400 {
			seen[x.method+" "+ct.specPath(x.path)+" error"]++
		}
	}
	for _, ep := range endpoints {
		if k := ep.method + " " + ep.path + " " + strconv.Itoa(ep.status); seen[k] == 0 {
			t.Errorf("never answered %s", k)
		}
		if k := ep.method + " " + ep.path + " error"; ep.errors && seen[k] == 0 {
			t.Errorf("never answered an error for %s %s", ep.method, ep.path)
		}
	}
}

// TestContractDeviations proves each listed deviation is still needed:
// without it, at least one answer fails the spec.
func TestContractDeviations(t *testing.T) {
	raw := specJSON(t)
	answers := recordResponses(t)
	for _, d := range deviations {
		t.Run(d.name, func(t *testing.T) {
			ct := newContract(t, raw, d.name)
			for _, x := range answers {
				if _, err := ct.check(x); err != nil {
					return // needed
				}
			}
			t.Errorf("deviation %s is not needed any more (%s)", d.name, d.why)
		})
	}
}

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
