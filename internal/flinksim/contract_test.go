package flinksim_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
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
	{"POST", "/savepoint-disposal", 200, true},
	{"GET", "/savepoint-disposal/{triggerid}", 200, true},
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
