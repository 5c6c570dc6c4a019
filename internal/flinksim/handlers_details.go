package flinksim

import "time"

// jobDetailsInfo is Flink's JobDetailsInfo (GET /jobs/{jobid}).
type jobDetailsInfo struct {
	JID            string          `json:"jid"`
	Name           string          `json:"name"`
	IsStoppable    bool            `json:"isStoppable"`
	State          JobState        `json:"state"`
	StartTime      int64           `json:"start-time"`
	EndTime        int64           `json:"end-time"`
	Duration       int64           `json:"duration"`
	MaxParallelism int64           `json:"maxParallelism"`
	Now            int64           `json:"now"`
	Timestamps     jobTimestamps   `json:"timestamps"`
	Vertices       []vertexInfo    `json:"vertices"`
	StatusCounts   upperTaskCounts `json:"status-counts"`
	Plan           plan            `json:"plan"`
}

// jobTimestamps maps every JobStatus (upper case) to the time the job last
// entered it, 0 if never.
type jobTimestamps struct {
	Initializing int64 `json:"INITIALIZING"`
	Created      int64 `json:"CREATED"`
	Running      int64 `json:"RUNNING"`
	Failing      int64 `json:"FAILING"`
	Failed       int64 `json:"FAILED"`
	Cancelling   int64 `json:"CANCELLING"`
	Canceled     int64 `json:"CANCELED"`
	Finished     int64 `json:"FINISHED"`
	Restarting   int64 `json:"RESTARTING"`
	Suspended    int64 `json:"SUSPENDED"`
	Reconciling  int64 `json:"RECONCILING"`
}

// upperTaskCounts are task counts keyed by upper-case ExecutionState names
// ("status-counts" of /jobs/{jobid}, "tasks" of its vertices).
type upperTaskCounts struct {
	Created      int `json:"CREATED"`
	Scheduled    int `json:"SCHEDULED"`
	Deploying    int `json:"DEPLOYING"`
	Running      int `json:"RUNNING"`
	Finished     int `json:"FINISHED"`
	Canceling    int `json:"CANCELING"`
	Canceled     int `json:"CANCELED"`
	Failed       int `json:"FAILED"`
	Reconciling  int `json:"RECONCILING"`
	Initializing int `json:"INITIALIZING"`
}

func upperCounts(c [numExecStates]int) upperTaskCounts {
	return upperTaskCounts{
		Created: c[exCreated], Scheduled: c[exScheduled], Deploying: c[exDeploying], Running: c[exRunning],
		Finished: c[exFinished], Canceling: c[exCanceling], Canceled: c[exCanceled], Failed: c[exFailed],
		Reconciling: c[exReconciling], Initializing: c[exInitializing],
	}
}

// vertexInfo is Flink's JobDetailsVertexInfo.
type vertexInfo struct {
	ID             string          `json:"id"`
	Name           string          `json:"name"`
	MaxParallelism int32           `json:"maxParallelism"`
	Parallelism    int32           `json:"parallelism"`
	Status         string          `json:"status"`
	StartTime      int64           `json:"start-time"`
	EndTime        int64           `json:"end-time"`
	Duration       int64           `json:"duration"`
	Tasks          upperTaskCounts `json:"tasks"`
	Metrics        ioMetrics       `json:"metrics"`
}

// ioMetrics is Flink's IOMetricsInfo.
type ioMetrics struct {
	ReadBytes                    int64     `json:"read-bytes"`
	ReadBytesComplete            bool      `json:"read-bytes-complete"`
	WriteBytes                   int64     `json:"write-bytes"`
	WriteBytesComplete           bool      `json:"write-bytes-complete"`
	ReadRecords                  int64     `json:"read-records"`
	ReadRecordsComplete          bool      `json:"read-records-complete"`
	WriteRecords                 int64     `json:"write-records"`
	WriteRecordsComplete         bool      `json:"write-records-complete"`
	AccumulatedBackpressuredTime int64     `json:"accumulated-backpressured-time"`
	AccumulatedIdleTime          int64     `json:"accumulated-idle-time"`
	AccumulatedBusyTime          jsonFloat `json:"accumulated-busy-time"`
}

// plan is the job graph (RawJson in the spec).
type plan struct {
	JID   string     `json:"jid"`
	Name  string     `json:"name"`
	Type  string     `json:"type"`
	Nodes []planNode `json:"nodes"`
}

type planNode struct {
	ID                  string      `json:"id"`
	Parallelism         int         `json:"parallelism"`
	Operator            string      `json:"operator"`
	OperatorStrategy    string      `json:"operator_strategy"`
	Description         string      `json:"description"`
	Inputs              []planInput `json:"inputs,omitempty"`
	OptimizerProperties struct{}    `json:"optimizer_properties"`
}

type planInput struct {
	Num          int    `json:"num"`
	ID           string `json:"id"`
	ShipStrategy string `json:"ship_strategy"`
	Exchange     string `json:"exchange"`
}

// detailsInfo builds the job's JobDetailsInfo. Caller holds the lock.
func (j *Job) detailsInfo(now time.Time) jobDetailsInfo {
	ts := j.timestamps
	d := jobDetailsInfo{
		JID: j.id, Name: j.spec.Name, State: j.state,
		StartTime: millis(j.created), EndTime: j.endTime(), Duration: j.duration(now),
		MaxParallelism: -1, Now: millis(now),
		Timestamps: jobTimestamps{ts[0], ts[1], ts[2], ts[3], ts[4], ts[5], ts[6], ts[7], ts[8], ts[9], ts[10]},
		Vertices:   []vertexInfo{},
		Plan:       plan{JID: j.id, Name: j.spec.Name, Type: "STREAMING", Nodes: []planNode{}},
	}
	counts, _ := j.tasks()
	d.StatusCounts = upperCounts(counts)
	st, hasTasks := taskState(j.state)
	if !hasTasks {
		return d // an INITIALIZING job has no execution graph yet
	}
	start := j.timestamps[Running.index()]
	if start == 0 {
		start = -1
	}
	for i, id := range j.vertexIDs {
		var vc [numExecStates]int
		vc[st] = j.spec.Parallelism
		v := vertexInfo{
			ID: id, Name: j.vertexNames[i], MaxParallelism: 128, Parallelism: int32(j.spec.Parallelism),
			Status: execStateNames[st], StartTime: start, EndTime: -1, Duration: -1, Tasks: upperCounts(vc),
		}
		if start > 0 {
			end := millis(now)
			if !j.end.IsZero() {
				end = millis(j.end)
				v.EndTime = end
			}
			v.Duration = end - start
			records := v.Duration * 10 * int64(j.spec.Parallelism)
			if i > 0 {
				v.Metrics.ReadRecords, v.Metrics.ReadBytes = records, records*64
			}
			if i < len(j.vertexIDs)-1 {
				v.Metrics.WriteRecords, v.Metrics.WriteBytes = records, records*64
			}
			v.Metrics.AccumulatedBusyTime = jsonFloat(v.Duration / 10)
			v.Metrics.AccumulatedIdleTime = v.Duration - v.Duration/10
		}
		v.Metrics.ReadBytesComplete, v.Metrics.WriteBytesComplete = true, true
		v.Metrics.ReadRecordsComplete, v.Metrics.WriteRecordsComplete = true, true
		d.Vertices = append(d.Vertices, v)
		n := planNode{ID: id, Parallelism: j.spec.Parallelism, Description: j.vertexNames[i]}
		if i > 0 {
			n.Inputs = []planInput{{ID: j.vertexIDs[i-1], ShipStrategy: "FORWARD", Exchange: "pipelined_bounded"}}
		}
		d.Plan.Nodes = append(d.Plan.Nodes, n)
	}
	return d
}
