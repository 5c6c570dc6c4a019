package flinksim

import (
	"net/http"
)

// dashboardConfig is Flink's DashboardConfiguration (GET /config).
type dashboardConfig struct {
	RefreshInterval int64    `json:"refresh-interval"`
	TimezoneName    string   `json:"timezone-name"`
	TimezoneOffset  int32    `json:"timezone-offset"`
	FlinkVersion    string   `json:"flink-version"`
	FlinkRevision   string   `json:"flink-revision"`
	Features        features `json:"features"`
}

type features struct {
	WebSubmit  bool `json:"web-submit"`
	WebCancel  bool `json:"web-cancel"`
	WebRescale bool `json:"web-rescale"`
	WebHistory bool `json:"web-history"`
}

func handleDashboardConfig(c *Cluster, w http.ResponseWriter, r *http.Request, p *params) {
	writeJSON(w, http.StatusOK, dashboardConfig{
		RefreshInterval: 3000,
		TimezoneName:    "Coordinated Universal Time",
		FlinkVersion:    c.opts.FlinkVersion,
		FlinkRevision:   c.opts.FlinkCommit + " @ 2024-06-11T13:09:33+02:00",
		Features:        features{WebSubmit: !c.opts.Application, WebCancel: true},
	})
}

// clusterOverview is Flink's ClusterOverviewWithVersion (GET /overview).
// The two "blocked" fields are written only when non-zero, as Flink does.
type clusterOverview struct {
	TaskManagers        int    `json:"taskmanagers"`
	SlotsTotal          int    `json:"slots-total"`
	SlotsAvailable      int    `json:"slots-available"`
	JobsRunning         int    `json:"jobs-running"`
	JobsFinished        int    `json:"jobs-finished"`
	JobsCancelled       int    `json:"jobs-cancelled"`
	JobsFailed          int    `json:"jobs-failed"`
	FlinkVersion        string `json:"flink-version"`
	FlinkCommit         string `json:"flink-commit"`
	SlotsFreeAndBlocked int    `json:"slots-free-and-blocked,omitempty"`
	TaskManagersBlocked int    `json:"taskmanagers-blocked,omitempty"`
}

func handleOverview(c *Cluster, w http.ResponseWriter, r *http.Request, p *params) {
	c.mu.Lock()
	c.advance()
	o := clusterOverview{
		TaskManagers: c.opts.TaskManagers, SlotsTotal: c.opts.TaskManagers * c.opts.SlotsPerTaskManager,
		FlinkVersion: c.opts.FlinkVersion, FlinkCommit: c.opts.FlinkCommit,
	}
	o.SlotsAvailable = o.SlotsTotal - c.usedSlots()
	for _, j := range c.order {
		switch j.state {
		case Finished:
			o.JobsFinished++
		case Canceled:
			o.JobsCancelled++
		case Failed:
			o.JobsFailed++
		default:
			o.JobsRunning++
		}
	}
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, o)
}

// usedSlots is the number of slots held by jobs, capped at the total.
// Caller holds c.mu.
func (c *Cluster) usedSlots() int {
	used := 0
	for _, j := range c.order {
		if j.usesSlots() {
			used += j.spec.Parallelism
		}
	}
	return min(used, c.opts.TaskManagers*c.opts.SlotsPerTaskManager)
}

func handleJobManagerConfig(c *Cluster, w http.ResponseWriter, r *http.Request, p *params) {
	c.mu.Lock()
	cfg := c.cfg
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, cfg)
}

// handleShutdown answers DELETE /cluster; the JobManager then exits, so
// the cluster vanishes.
func handleShutdown(c *Cluster, w http.ResponseWriter, r *http.Request, p *params) {
	writeBody(w, http.StatusOK, emptyBody)
	c.s.removeIf(c)
}
