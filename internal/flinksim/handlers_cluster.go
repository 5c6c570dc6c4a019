package flinksim

import (
	"net/http"
	"strconv"
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

// taskManagerInfo is Flink's TaskManagerInfo (GET /taskmanagers).
type taskManagerInfo struct {
	ID                     string          `json:"id"`
	Path                   string          `json:"path"`
	DataPort               int32           `json:"dataPort"`
	JmxPort                int32           `json:"jmxPort"`
	TimeSinceLastHeartbeat int64           `json:"timeSinceLastHeartbeat"`
	SlotsNumber            int32           `json:"slotsNumber"`
	FreeSlots              int32           `json:"freeSlots"`
	TotalResource          resourceProfile `json:"totalResource"`
	FreeResource           resourceProfile `json:"freeResource"`
	Hardware               hardware        `json:"hardware"`
	MemoryConfiguration    tmMemoryConfig  `json:"memoryConfiguration"`
	Blocked                bool            `json:"blocked"`
}

type resourceProfile struct {
	CPUCores          jsonFloat            `json:"cpuCores"`
	TaskHeapMemory    int32                `json:"taskHeapMemory"`
	TaskOffHeapMemory int32                `json:"taskOffHeapMemory"`
	ManagedMemory     int32                `json:"managedMemory"`
	NetworkMemory     int32                `json:"networkMemory"`
	ExtendedResources map[string]jsonFloat `json:"extendedResources"`
}

type hardware struct {
	CPUCores       int32 `json:"cpuCores"`
	PhysicalMemory int64 `json:"physicalMemory"`
	FreeMemory     int64 `json:"freeMemory"`
	ManagedMemory  int64 `json:"managedMemory"`
}

type tmMemoryConfig struct {
	FrameworkHeap      int64 `json:"frameworkHeap"`
	TaskHeap           int64 `json:"taskHeap"`
	FrameworkOffHeap   int64 `json:"frameworkOffHeap"`
	TaskOffHeap        int64 `json:"taskOffHeap"`
	NetworkMemory      int64 `json:"networkMemory"`
	ManagedMemory      int64 `json:"managedMemory"`
	JvmMetaspace       int64 `json:"jvmMetaspace"`
	JvmOverhead        int64 `json:"jvmOverhead"`
	TotalFlinkMemory   int64 `json:"totalFlinkMemory"`
	TotalProcessMemory int64 `json:"totalProcessMemory"`
}

func handleTaskManagers(c *Cluster, w http.ResponseWriter, r *http.Request, p *params) {
	c.mu.Lock()
	c.advance()
	free := c.opts.TaskManagers*c.opts.SlotsPerTaskManager - c.usedSlots()
	c.mu.Unlock()
	slots := c.opts.SlotsPerTaskManager
	// A 1728m TaskManager as Flink computes it, split per slot.
	perSlot := func(n int) resourceProfile {
		return resourceProfile{
			CPUCores: jsonFloat(n), TaskHeapMemory: int32(384 * n / slots), TaskOffHeapMemory: 0,
			ManagedMemory: int32(512 * n / slots), NetworkMemory: int32(128 * n / slots),
			ExtendedResources: map[string]jsonFloat{},
		}
	}
	tms := make([]taskManagerInfo, c.opts.TaskManagers)
	for i := range tms {
		f := min(max(free, 0), slots)
		free -= f
		tms[i] = taskManagerInfo{
			ID:                     c.name + "-taskmanager-1-" + strconv.Itoa(i+1),
			Path:                   "pekko.tcp://flink@10.0.0." + strconv.Itoa(10+i) + ":6122/user/rpc/taskmanager_0",
			DataPort:               6121,
			JmxPort:                -1,
			TimeSinceLastHeartbeat: millis(c.clock.Now()),
			SlotsNumber:            int32(slots),
			FreeSlots:              int32(f),
			TotalResource:          perSlot(slots),
			FreeResource:           perSlot(f),
			Hardware:               hardware{CPUCores: 2, PhysicalMemory: 8 << 30, FreeMemory: 402653184, ManagedMemory: 536870912},
			MemoryConfiguration: tmMemoryConfig{
				FrameworkHeap: 134217728, TaskHeap: 402653174, FrameworkOffHeap: 134217728, TaskOffHeap: 0,
				NetworkMemory: 134217730, ManagedMemory: 536870920, JvmMetaspace: 268435456,
				JvmOverhead: 201326592, TotalFlinkMemory: 1342177280, TotalProcessMemory: 1811939328,
			},
		}
	}
	writeJSON(w, http.StatusOK, struct {
		TaskManagers []taskManagerInfo `json:"taskmanagers"`
	}{tms})
}
