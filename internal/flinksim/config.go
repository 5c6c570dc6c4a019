package flinksim

import "strconv"

// configEntry is one /jobmanager/config entry (ConfigurationInfoEntry).
type configEntry struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

const (
	keyCheckpointsDir = "state.checkpoints.dir"
	keySavepointsDir  = "state.savepoints.dir"
)

// buildConfig returns the effective configuration a Flink 1.19 native
// Kubernetes JobManager reports: every value a string, memory sizes in
// Flink's syntax (1600m, 1g, 134217728b) as Flink writes them back.
func buildConfig(name string, opts ClusterOptions) []configEntry {
	target := "kubernetes-session"
	if opts.Application {
		target = "kubernetes-application"
	}
	m := map[string]string{
		"blob.server.port":                         "6124",
		"execution.target":                         target,
		"jobmanager.memory.process.size":           "1600m",
		"jobmanager.memory.heap.size":              "1073741824b",
		"jobmanager.memory.off-heap.size":          "134217728b",
		"jobmanager.memory.jvm-metaspace.size":     "268435456b",
		"jobmanager.memory.jvm-overhead.min":       "201326592b",
		"jobmanager.memory.jvm-overhead.max":       "201326592b",
		"jobmanager.rpc.address":                   name + ".default",
		"jobmanager.rpc.port":                      "6123",
		"kubernetes.cluster-id":                    name,
		"kubernetes.namespace":                     "default",
		"kubernetes.jobmanager.cpu.amount":         "1.0",
		"kubernetes.rest-service.exposed.type":     "ClusterIP",
		"kubernetes.container.image.ref":           "flink:1.19.1-scala_2.12-java11",
		"parallelism.default":                      "1",
		"rest.address":                             name + "-rest.default",
		"rest.port":                                "8081",
		keyCheckpointsDir:                          "s3://flink/checkpoints",
		keySavepointsDir:                           "s3://flink/savepoints",
		"taskmanager.memory.process.size":          "1728m",
		"taskmanager.memory.managed.size":          "1g",
		"taskmanager.numberOfTaskSlots":            strconv.Itoa(opts.SlotsPerTaskManager),
		"web.tmpdir":                               "/tmp/flink-web-" + name,
		"execution.shutdown-on-application-finish": strconv.FormatBool(opts.ShutdownOnApplicationFinish),
	}
	for _, spec := range opts.Jobs {
		if opts.Application && spec.ID != "" {
			m["$internal.pipeline.job-id"] = spec.ID
		}
	}
	for k, v := range opts.Config {
		if v == "" {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	out := make([]configEntry, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, configEntry{Key: k, Value: m[k]})
	}
	return out
}

// config returns the configured value of key, or "". Caller holds c.mu.
func (c *Cluster) config(key string) string {
	for _, e := range c.cfg {
		if e.Key == key {
			return e.Value
		}
	}
	return ""
}
