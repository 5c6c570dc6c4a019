package submit

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/messages"
)

// Ports of a Flink JobManager, as Flink's native Kubernetes client sets
// them (the REST port is kubeclusters.RestPort).
const (
	RPCPort        = 6123
	BlobPort       = 6124
	TaskManagerRPC = 6122
)

// Defaults are Flink's own defaults for what flinkferry always writes.
const (
	defaultJobManagerMemory  = "1600m"
	defaultTaskManagerMemory = "1728m"
)

// FlinkConf is a Flink configuration: flat keys to string values.
type FlinkConf map[string]string

// usrlibJar is where the build worker put the jar.
func usrlibJar(name string) string { return "local:///opt/flink/usrlib/" + name }

// EffectiveConf returns the whole configuration of a cluster, in Flink's
// precedence: Flink defaults written by flinkferry < the worker's
// configuration (base) < the request's dynamic options. What makes the
// deployment flinkferry's (target, cluster id, namespace, image, jar, job
// id, shutdown behaviour) is set last and cannot be overridden: the request
// validation refuses such dynamic options.
func EffectiveConf(ev *messages.ImageBuilt, jarName string, base FlinkConf) FlinkConf {
	req := &ev.Request
	c := FlinkConf{
		"jobmanager.memory.process.size":         defaultJobManagerMemory,
		"taskmanager.memory.process.size":        defaultTaskManagerMemory,
		"taskmanager.numberOfTaskSlots":          "1",
		"kubernetes.rest-service.exposed.type":   string(messages.RestClusterIP),
		"kubernetes.container.image.pull-policy": "IfNotPresent",
		"rest.port":                              strconv.Itoa(kubeclusters.RestPort),
		"jobmanager.rpc.port":                    strconv.Itoa(RPCPort),
		"blob.server.port":                       strconv.Itoa(BlobPort),
		"taskmanager.rpc.port":                   strconv.Itoa(TaskManagerRPC),
	}
	maps.Copy(c, base)
	set := func(k, v string) {
		if v != "" {
			c[k] = v
		}
	}
	f := req.Flink
	set("jobmanager.memory.process.size", f.JobManager.Memory)
	set("taskmanager.memory.process.size", f.TaskManager.Memory)
	if f.JobManager.CPU > 0 {
		c["kubernetes.jobmanager.cpu.amount"] = strconv.FormatFloat(f.JobManager.CPU, 'f', -1, 64)
	}
	if f.TaskManager.CPU > 0 {
		c["kubernetes.taskmanager.cpu.amount"] = strconv.FormatFloat(f.TaskManager.CPU, 'f', -1, 64)
	}
	if f.TaskManager.Slots > 0 {
		c["taskmanager.numberOfTaskSlots"] = strconv.Itoa(f.TaskManager.Slots)
	}
	if f.Parallelism > 0 {
		c["parallelism.default"] = strconv.Itoa(f.Parallelism)
	}
	set("kubernetes.rest-service.exposed.type", string(req.Kubernetes.RestExposedType))
	set("kubernetes.service-account", req.Kubernetes.ServiceAccount)
	if len(req.Labels) > 0 {
		c["kubernetes.jobmanager.labels"] = flinkMap(req.Labels)
		c["kubernetes.taskmanager.labels"] = flinkMap(req.Labels)
	}
	if p := req.Program; p != nil {
		set("$internal.application.main", p.MainClass)
		if len(p.Args) > 0 {
			c["$internal.application.program-args"] = strings.Join(p.Args, ";")
		}
		if sp := p.Savepoint; sp != nil {
			c["execution.savepoint.path"] = sp.Path
			c["execution.savepoint.ignore-unclaimed-state"] = strconv.FormatBool(sp.AllowNonRestoredState)
			set("execution.savepoint-restore-mode", string(sp.RestoreMode))
		}
	}
	if req.Kubernetes.TaskManagerPodTemplate != "" || req.Kubernetes.PodTemplate != "" {
		// The JobManager creates TaskManagers from the template mounted
		// from pod-template-<cluster-id>.
		c["kubernetes.pod-template-file.taskmanager"] = podTemplateDir + "/" + podTemplateKey
	}
	maps.Copy(c, f.DynamicOptionsMap())

	// Owned by flinkferry: last, never overridden.
	c["kubernetes.cluster-id"] = ev.Job.ClusterID
	c["kubernetes.namespace"] = ev.Job.Namespace
	c["kubernetes.container.image.ref"] = ev.Image
	if ev.Mode == messages.ModeSessionCluster {
		c["execution.target"] = "kubernetes-session"
	} else {
		c["execution.target"] = "kubernetes-application"
		c["pipeline.jars"] = usrlibJar(jarName)
		c["$internal.pipeline.job-id"] = req.FlinkJobID()
		// Keep the JobManager after the job ends so its final state can be
		// read; the track worker removes the cluster afterwards.
		c["execution.shutdown-on-application-finish"] = "false"
		c["execution.submit-failed-job-on-application-error"] = "true"
	}
	if !c.HighAvailability() {
		c["jobmanager.rpc.address"] = ev.Job.ClusterID + "." + ev.Job.Namespace
	}
	return c
}

// HighAvailability reports whether Kubernetes HA is on.
func (c FlinkConf) HighAvailability() bool {
	for _, k := range []string{"high-availability.type", "high-availability"} {
		if v := strings.ToLower(strings.TrimSpace(c[k])); v != "" && v != "none" {
			return true
		}
	}
	return false
}

// flinkMap writes a map in Flink's "k1:v1,k2:v2" syntax, keys sorted.
func flinkMap(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+":"+m[k])
	}
	return strings.Join(parts, ",")
}

// ConfigFile returns the configuration file name and content for a Flink
// version: flink-conf.yaml (flat "key: value" lines) before 1.19, the
// standard-YAML config.yaml from 1.19 on (Flink 2.x reads only that).
// Keys are sorted so the same configuration is always the same bytes.
func (c FlinkConf) ConfigFile(flinkVersion string) (string, string, error) {
	keys := slices.Sorted(maps.Keys(c))
	if legacyConfig(flinkVersion) {
		var b strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&b, "%s: %s\n", k, c[k])
		}
		return "flink-conf.yaml", b.String(), nil
	}
	// config.yaml accepts flat keys; each value is a YAML string, quoted as needed.
	var b strings.Builder
	for _, k := range keys {
		v, err := yaml.Marshal(c[k])
		if err != nil {
			return "", "", fmt.Errorf("writing %s: %w", k, err)
		}
		fmt.Fprintf(&b, "%s: %s", k, v)
	}
	return "config.yaml", b.String(), nil
}

// legacyConfig reports whether a Flink version reads flink-conf.yaml only.
func legacyConfig(version string) bool {
	major, minor, _ := strings.Cut(version, ".")
	m, _ := strconv.Atoi(minor)
	return major == "1" && m < 19
}

// log4jConsole is the console logging configuration Flink's client ships
// with the configuration (log4j-console.properties of the distribution).
const log4jConsole = `rootLogger.level = INFO
rootLogger.appenderRef.console.ref = ConsoleAppender
logger.pekko.name = org.apache.pekko
logger.pekko.level = INFO
logger.kafka.name = org.apache.kafka
logger.kafka.level = INFO
logger.hadoop.name = org.apache.hadoop
logger.hadoop.level = WARN
logger.zookeeper.name = org.apache.zookeeper
logger.zookeeper.level = INFO
appender.console.name = ConsoleAppender
appender.console.type = CONSOLE
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n
logger.netty.name = org.jboss.netty.channel.DefaultChannelPipeline
logger.netty.level = OFF
`
