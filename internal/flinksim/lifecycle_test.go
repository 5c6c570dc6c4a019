package flinksim_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/flinksim"
)

const jobA = "a0000000000000000000000000000001"

func TestLifecycleScripts(t *testing.T) {
	type probe struct {
		at    time.Duration // since the job started
		state flinksim.JobState
	}
	tests := []struct {
		name   string
		script flinksim.Script
		probes []probe
	}{{
		name:   "default",
		script: nil,
		probes: []probe{{0, flinksim.Initializing}, {time.Second, flinksim.Created}, {2 * time.Second, flinksim.Running}, {time.Hour, flinksim.Running}},
	}, {
		name: "restart then fail",
		script: flinksim.Script{
			{State: flinksim.Running, For: 10 * time.Second},
			{State: flinksim.Restarting, For: 5 * time.Second, Cause: "java.io.IOException: disk full"},
			{State: flinksim.Running, For: 10 * time.Second},
			{State: flinksim.Failing, For: time.Second},
			{State: flinksim.Failed},
		},
		probes: []probe{{9 * time.Second, flinksim.Running}, {10 * time.Second, flinksim.Restarting}, {15 * time.Second, flinksim.Running}, {25 * time.Second, flinksim.Failing}, {26 * time.Second, flinksim.Failed}, {time.Hour, flinksim.Failed}},
	}, {
		name:   "batch finishes",
		script: flinksim.Script{{State: flinksim.Initializing, For: time.Second}, {State: flinksim.Running, For: time.Minute}, {State: flinksim.Finished}, {State: flinksim.Running}},
		probes: []probe{{30 * time.Second, flinksim.Running}, {61 * time.Second, flinksim.Finished}, {time.Hour, flinksim.Finished}},
	}, {
		name:   "zero For stays forever",
		script: flinksim.Script{{State: flinksim.Reconciling}, {State: flinksim.Running}},
		probes: []probe{{time.Hour, flinksim.Reconciling}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			start := e.clock.Now()
			e.srv.AddCluster("c1", flinksim.ClusterOptions{Jobs: []flinksim.JobSpec{{ID: jobA, Script: tc.script}}})
			for _, p := range tc.probes {
				e.clock.Set(start.Add(p.at))
				st := e.getJSON("/c/c1/jobs/"+jobA+"/status", http.StatusOK)
				if got, want := st["status"], string(p.state); got != want {
					t.Fatalf("status at %v = %v, want %v", p.at, got, want)
				}
				ov := e.getJSON("/c/c1/jobs/overview", http.StatusOK)
				if got, want := path(ov, "jobs", 0, "state"), string(p.state); got != want {
					t.Fatalf("overview state at %v = %v, want %v", p.at, got, want)
				}
				end := path(ov, "jobs", 0, "end-time").(float64)
				if terminal := p.state.IsGloballyTerminal(); terminal != (end != -1) {
					t.Fatalf("end-time at %v in %s = %v", p.at, p.state, end)
				}
			}
		})
	}
}

func TestJobTimes(t *testing.T) {
	e := newEnv(t)
	start := e.clock.Now()
	e.srv.AddCluster("c1", flinksim.ClusterOptions{Jobs: []flinksim.JobSpec{{ID: jobA, Parallelism: 3, Script: flinksim.Script{
		{State: flinksim.Running, For: 10 * time.Second}, {State: flinksim.Finished},
	}}}})
	e.clock.Advance(4 * time.Second)
	ov := e.getJSON("/c/c1/jobs/overview", http.StatusOK)
	job := path(ov, "jobs", 0)
	for _, tc := range []struct {
		key  string
		want any
	}{
		{"start-time", float64(start.UnixMilli())},
		{"end-time", float64(-1)},
		{"duration", float64(4000)},
		{"last-modification", float64(start.UnixMilli())},
	} {
		if got := path(job, tc.key); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.key, got, tc.want)
		}
	}
	// Lower-case task counts in the overview, upper-case in the details.
	if got, want := path(job, "tasks", "running"), float64(6); got != want {
		t.Errorf("tasks.running = %v, want %v", got, want)
	}
	if got, want := path(job, "tasks", "total"), float64(6); got != want {
		t.Errorf("tasks.total = %v, want %v", got, want)
	}
	d := e.getJSON("/c/c1/jobs/"+jobA, http.StatusOK)
	if got, want := path(d, "status-counts", "RUNNING"), float64(6); got != want {
		t.Errorf("status-counts.RUNNING = %v, want %v", got, want)
	}
	if got, want := len(path(d, "vertices").([]any)), 2; got != want {
		t.Errorf("vertices = %d, want %d", got, want)
	}
	e.clock.Advance(time.Minute)
	d = e.getJSON("/c/c1/jobs/"+jobA, http.StatusOK)
	if got, want := path(d, "end-time"), float64(start.Add(10*time.Second).UnixMilli()); got != want {
		t.Errorf("end-time = %v, want %v", got, want)
	}
	if got, want := path(d, "duration"), float64(10000); got != want {
		t.Errorf("duration = %v, want %v", got, want)
	}
	if got, want := path(d, "timestamps", "FINISHED"), float64(start.Add(10*time.Second).UnixMilli()); got != want {
		t.Errorf("timestamps.FINISHED = %v, want %v", got, want)
	}
}

func TestSetStateAndFail(t *testing.T) {
	e := newEnv(t)
	c := e.srv.AddCluster("c1", flinksim.ClusterOptions{})
	j := c.AddJob(flinksim.JobSpec{Script: flinksim.Script{{State: flinksim.Running, For: time.Second}, {State: flinksim.Finished}}})
	j.SetState(flinksim.Suspended)
	e.clock.Advance(time.Hour)
	if got, want := j.State(), flinksim.Suspended; got != want {
		t.Fatalf("State() after SetState = %v, want %v (script stopped)", got, want)
	}
	j.Fail("java.lang.IllegalStateException: boom")
	if got, want := j.State(), flinksim.Failed; got != want {
		t.Fatalf("State() after Fail = %v, want %v", got, want)
	}
	ex := e.getJSON("/c/c1/jobs/"+j.ID()+"/exceptions", http.StatusOK)
	if got, want := path(ex, "exceptionHistory", "entries", 0, "exceptionName"), "java.lang.IllegalStateException"; got != want {
		t.Errorf("exceptionName = %v, want %v", got, want)
	}
	if got := path(ex, "root-exception"); got == nil {
		t.Errorf("root-exception = nil after a failure")
	}
	ov := e.getJSON("/c/c1/overview", http.StatusOK)
	if got, want := path(ov, "jobs-failed"), float64(1); got != want {
		t.Errorf("jobs-failed = %v, want %v", got, want)
	}
}
