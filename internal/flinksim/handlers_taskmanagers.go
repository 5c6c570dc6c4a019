package flinksim

import (
	"net/http"
	"strconv"
)

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
