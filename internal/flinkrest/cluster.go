package flinkrest

import "context"

// ClusterOverview is GET /overview (Flink's ClusterOverviewWithVersion).
type ClusterOverview struct {
	// TaskManagers is the number of registered TaskManagers.
	TaskManagers int
	// SlotsTotal and SlotsAvailable count task slots.
	SlotsTotal     int
	SlotsAvailable int
	// SlotsFreeAndBlocked and TaskManagersBlocked are 0 unless Flink
	// blocked some (speculative execution).
	SlotsFreeAndBlocked int
	TaskManagersBlocked int
	// Jobs per state: running counts every job not finished, cancelled or
	// failed.
	JobsRunning   int
	JobsFinished  int
	JobsCancelled int
	JobsFailed    int
	// FlinkVersion and FlinkCommit identify the JobManager's build.
	FlinkVersion string
	FlinkCommit  string
}

type overviewJSON struct {
	TaskManagers        jsonInt `json:"taskmanagers"`
	SlotsTotal          jsonInt `json:"slots-total"`
	SlotsAvailable      jsonInt `json:"slots-available"`
	SlotsFreeAndBlocked jsonInt `json:"slots-free-and-blocked"`
	TaskManagersBlocked jsonInt `json:"taskmanagers-blocked"`
	JobsRunning         jsonInt `json:"jobs-running"`
	JobsFinished        jsonInt `json:"jobs-finished"`
	JobsCancelled       jsonInt `json:"jobs-cancelled"`
	JobsFailed          jsonInt `json:"jobs-failed"`
	FlinkVersion        string  `json:"flink-version"`
	FlinkCommit         string  `json:"flink-commit"`
}

// Overview returns the cluster overview of the JobManager at base.
func (c *Client) Overview(ctx context.Context, base string) (*ClusterOverview, error) {
	var w overviewJSON
	if err := c.getJSON(ctx, base, "/overview", &w); err != nil {
		return nil, err
	}
	return &ClusterOverview{
		TaskManagers: int(w.TaskManagers), SlotsTotal: int(w.SlotsTotal), SlotsAvailable: int(w.SlotsAvailable),
		SlotsFreeAndBlocked: int(w.SlotsFreeAndBlocked), TaskManagersBlocked: int(w.TaskManagersBlocked),
		JobsRunning: int(w.JobsRunning), JobsFinished: int(w.JobsFinished), JobsCancelled: int(w.JobsCancelled), JobsFailed: int(w.JobsFailed),
		FlinkVersion: w.FlinkVersion, FlinkCommit: w.FlinkCommit,
	}, nil
}

// JobManagerConfig returns the JobManager's effective configuration
// (GET /jobmanager/config, a list of {key, value}) as a map. Values are
// Flink's strings as they are, e.g. memory sizes "1600m" or
// "134217728b" (messages.ParseMemorySize reads them).
func (c *Client) JobManagerConfig(ctx context.Context, base string) (map[string]string, error) {
	var entries []struct {
		Key   string     `json:"key"`
		Value jsonString `json:"value"`
	}
	if err := c.getJSON(ctx, base, "/jobmanager/config", &entries); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(entries))
	for _, e := range entries {
		if e.Key != "" {
			out[e.Key] = string(e.Value)
		}
	}
	return out, nil
}
