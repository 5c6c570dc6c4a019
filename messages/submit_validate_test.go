package messages_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/flinkferry/flinkferry/messages"
)

func TestSubmitRequestedValidate(t *testing.T) {
	const (
		app     = "submit-application.json"
		session = "submit-session.json"
		cluster = "submit-session-cluster.json"
	)
	dns1123 := func(s string) string { return validation.IsDNS1123Label(s)[0] }
	dns1035 := func(s string) string { return validation.IsDNS1035Label(s)[0] }
	opts := func(o ...string) func(r *messages.SubmitRequested) {
		return func(r *messages.SubmitRequested) { r.Flink.DynamicOptions = o }
	}
	manyLabels := map[string]string{}
	for i := range 33 {
		manyLabels[fmt.Sprintf("l%d", i)] = "v"
	}

	tests := []struct {
		name   string
		base   string
		mutate func(r *messages.SubmitRequested)
		want   messages.FieldErrors
	}{
		{name: "valid application", base: app},
		{name: "valid session", base: session},
		{name: "valid session-cluster", base: cluster},

		// request_id
		{"request_id missing", app, func(r *messages.SubmitRequested) { r.RequestID = "" }, fe("request_id", "required")},
		{"request_id too long", app, func(r *messages.SubmitRequested) { r.RequestID = strings.Repeat("a", 129) }, fe("request_id", "must be at most 128 characters, got 129")},
		{"request_id 128 chars", app, func(r *messages.SubmitRequested) { r.RequestID = strings.Repeat("a", 128) }, nil},
		{"request_id bad chars", app, func(r *messages.SubmitRequested) { r.RequestID = "a b" }, fe("request_id", "must contain only letters, digits, '.', '_', ':' and '-'")},

		// job
		{"kube_cluster bad", app, func(r *messages.SubmitRequested) { r.Job.KubeCluster = "EU" }, fe("job.kube_cluster", dns1123("EU"))},
		{"kube_cluster empty is the default", app, func(r *messages.SubmitRequested) { r.Job.KubeCluster = "" }, nil},
		{"namespace missing", app, func(r *messages.SubmitRequested) { r.Job.Namespace = "" }, fe("job.namespace", "required")},
		{"namespace with dots", app, func(r *messages.SubmitRequested) { r.Job.Namespace = "a.b" }, fe("job.namespace", "must not contain dots")},
		{"namespace uppercase", app, func(r *messages.SubmitRequested) { r.Job.Namespace = "Jobs" }, fe("job.namespace", dns1123("Jobs"))},
		{"cluster_id missing", app, func(r *messages.SubmitRequested) { r.Job.ClusterID = "" }, fe("job.cluster_id", "required")},
		{"cluster_id 45 chars", app, func(r *messages.SubmitRequested) { r.Job.ClusterID = "a" + strings.Repeat("b", 44) }, nil},
		{"cluster_id 46 chars", app, func(r *messages.SubmitRequested) { r.Job.ClusterID = "a" + strings.Repeat("b", 45) },
			fe("job.cluster_id", "must be at most 45 characters (Flink's limit for kubernetes.cluster-id), got 46")},
		{"cluster_id starts with a digit", app, func(r *messages.SubmitRequested) { r.Job.ClusterID = "1job" }, fe("job.cluster_id", dns1035("1job"))},

		// mode
		{"mode missing", app, func(r *messages.SubmitRequested) { r.Mode = "" }, fe("mode", "required")},
		{"mode unknown", app, func(r *messages.SubmitRequested) { r.Mode = "yarn-application" }, fe("mode", `must be one of application, session, session-cluster, got "yarn-application"`)},

		// session_cluster_id
		{"session_cluster_id in application", app, func(r *messages.SubmitRequested) { r.SessionClusterID = "shared" }, fe("session_cluster_id", "not allowed unless mode is session")},
		{"session_cluster_id missing in session", session, func(r *messages.SubmitRequested) { r.SessionClusterID = "" }, fe("session_cluster_id", "required")},
		{"session_cluster_id same as job", session, func(r *messages.SubmitRequested) { r.SessionClusterID = r.Job.ClusterID },
			fe("session_cluster_id", "must differ from job.cluster_id, which names the job in mode session")},
		{"session_cluster_id bad", session, func(r *messages.SubmitRequested) { r.SessionClusterID = "Shared" }, fe("session_cluster_id", dns1035("Shared"))},

		// kubernetes
		{"service_account bad", app, func(r *messages.SubmitRequested) { r.Kubernetes.ServiceAccount = "Flink_SA" },
			fe("kubernetes.service_account", validation.IsDNS1123Subdomain("Flink_SA")[0])},
		{"service_account subdomain", app, func(r *messages.SubmitRequested) { r.Kubernetes.ServiceAccount = "flink.jobs" }, nil},
		{"rest_exposed_type unknown", app, func(r *messages.SubmitRequested) { r.Kubernetes.RestExposedType = "Ingress" },
			fe("kubernetes.rest_exposed_type", `must be one of ClusterIP, NodePort, LoadBalancer, Headless_ClusterIP, got "Ingress"`)},
		{"rest_exposed_type Headless_ClusterIP", app, func(r *messages.SubmitRequested) { r.Kubernetes.RestExposedType = messages.RestHeadlessClusterIP }, nil},
		{"pod_template too large", app, func(r *messages.SubmitRequested) {
			r.Kubernetes.PodTemplate = "kind: Pod\n#" + strings.Repeat("x", 256<<10)
		},
			fe("kubernetes.pod_template", "must be at most 262144 bytes, got 262155")},
		{"pod_template not YAML", app, func(r *messages.SubmitRequested) { r.Kubernetes.PodTemplate = "spec: [\n" },
			fe("kubernetes.pod_template", "invalid YAML: yaml: line 1: did not find expected node content")},
		{"pod_template duplicate key", app, func(r *messages.SubmitRequested) { r.Kubernetes.PodTemplate = "kind: Pod\nkind: Pod\n" },
			fe("kubernetes.pod_template", `invalid YAML: yaml: unmarshal errors: line 2: key "kind" already set in map`)},
		{"pod_template a list", app, func(r *messages.SubmitRequested) { r.Kubernetes.JobManagerPodTemplate = "- a\n- b\n" },
			fe("kubernetes.jobmanager_pod_template", "must be a YAML mapping describing a Pod, got array")},
		{"pod_template a scalar", app, func(r *messages.SubmitRequested) { r.Kubernetes.TaskManagerPodTemplate = "pod" },
			fe("kubernetes.taskmanager_pod_template", "must be a YAML mapping describing a Pod, got string")},
		{"pod_template of a Deployment", app, func(r *messages.SubmitRequested) { r.Kubernetes.PodTemplate = "kind: Deployment\n" },
			fe("kubernetes.pod_template", `kind must be Pod, got "Deployment"`)},
		{"kubernetes options in session", session, func(r *messages.SubmitRequested) {
			r.Kubernetes = messages.KubernetesOptions{ServiceAccount: "flink", RestExposedType: "NodePort", PodTemplate: "kind: Pod", JobManagerPodTemplate: "kind: Pod", TaskManagerPodTemplate: "kind: Pod"}
		}, fe(
			"kubernetes.jobmanager_pod_template", "not allowed in mode session: the session cluster owns it",
			"kubernetes.pod_template", "not allowed in mode session: the session cluster owns it",
			"kubernetes.rest_exposed_type", "not allowed in mode session: the session cluster owns it",
			"kubernetes.service_account", "not allowed in mode session: the session cluster owns it",
			"kubernetes.taskmanager_pod_template", "not allowed in mode session: the session cluster owns it",
		)},

		// flink.version
		{"version missing", app, func(r *messages.SubmitRequested) { r.Flink.Version = "" }, fe("flink.version", "required")},
		{"version with patch", app, func(r *messages.SubmitRequested) { r.Flink.Version = "1.20.1" }, fe("flink.version", `must be MAJOR.MINOR, e.g. 1.20 or 2.1, got "1.20.1"`)},
		{"version with v", app, func(r *messages.SubmitRequested) { r.Flink.Version = "v2.0" }, fe("flink.version", `must be MAJOR.MINOR, e.g. 1.20 or 2.1, got "v2.0"`)},
		{"version leading zero", app, func(r *messages.SubmitRequested) { r.Flink.Version = "1.017" }, fe("flink.version", `must be MAJOR.MINOR, e.g. 1.20 or 2.1, got "1.017"`)},
		{"version too old", app, func(r *messages.SubmitRequested) { r.Flink.Version = "1.16" }, fe("flink.version", "unsupported Flink version 1.16: supported are 1.17 to 1.20 and 2.x")},
		{"version 1.21 does not exist", app, func(r *messages.SubmitRequested) { r.Flink.Version = "1.21" }, fe("flink.version", "unsupported Flink version 1.21: supported are 1.17 to 1.20 and 2.x")},
		{"version 3.0", app, func(r *messages.SubmitRequested) { r.Flink.Version = "3.0" }, fe("flink.version", "unsupported Flink version 3.0: supported are 1.17 to 1.20 and 2.x")},
		{"version 1.17", app, func(r *messages.SubmitRequested) { r.Flink.Version = "1.17" }, nil},
		{"version 2.10", app, func(r *messages.SubmitRequested) { r.Flink.Version = "2.10" }, nil},

		// flink.base_image
		{"base_image bad", app, func(r *messages.SubmitRequested) { r.Flink.BaseImage = "Flink:Latest" },
			fe("flink.base_image", "must be an image reference such as flink:1.20-java17 or registry.example.com/team/flink@sha256:<hex>")},
		{"base_image with registry, port and digest", app, func(r *messages.SubmitRequested) {
			r.Flink.BaseImage = "registry.example.com:5000/base/flink:1.20@sha256:" + strings.Repeat("a", 64)
		}, nil},
		{"base_image too long", app, func(r *messages.SubmitRequested) { r.Flink.BaseImage = strings.Repeat("a", 513) },
			fe("flink.base_image", "must be at most 512 characters, got 513")},
		{"base_image name too long", app, func(r *messages.SubmitRequested) { r.Flink.BaseImage = strings.Repeat("a", 256) },
			fe("flink.base_image", "image name must be at most 255 characters")},
		{"base_image in session", session, func(r *messages.SubmitRequested) { r.Flink.BaseImage = "flink:1.19" },
			fe("flink.base_image", "not allowed in mode session: no image is built, the job runs on the session cluster's")},

		// flink.dynamic_options
		{"dynamic option without -D", app, opts("state.backend.type=rocksdb"), fe("flink.dynamic_options[0]", "must start with -D, as in -Dkey=value")},
		{"dynamic option without =", app, opts("-Da=1", "-Dstate.backend.type"), fe("flink.dynamic_options[1]", "must be -Dkey=value: missing '='")},
		{"dynamic option with empty key", app, opts("-D=rocksdb"), fe("flink.dynamic_options[0]", "empty key")},
		{"dynamic option with blank in key", app, opts("-Dstate backend=rocksdb"), fe("flink.dynamic_options[0]", `key "state backend" contains whitespace`)},
		{"dynamic option with tab in key", app, opts("-Dstate\t=rocksdb"), fe("flink.dynamic_options[0]", `key "state\t" contains whitespace`)},
		{"dynamic option with empty value", app, opts("-Dpipeline.name="), nil},
		{"dynamic option value with = and blanks", app, opts("-Denv.java.opts.all=-Dfoo=bar -Xss2m"), nil},
		{"dynamic option value on two lines", app, opts("-Dpipeline.name=a\nb"), fe("flink.dynamic_options[0]", "value of pipeline.name must not contain line breaks")},
		{"dynamic option reserved", app, opts("-Dkubernetes.cluster-id=other"), fe("flink.dynamic_options[0]", "kubernetes.cluster-id is set by flinkferry and cannot be overridden")},
		{"dynamic option internal", app, opts("-D$internal.pipeline.job-id=" + strings.Repeat("0", 32)),
			fe("flink.dynamic_options[0]", "$internal.pipeline.job-id is set by flinkferry and cannot be overridden")},
		{"dynamic option conflicts with a field", app, opts("-Dparallelism.default=8"),
			fe("flink.dynamic_options[0]", "parallelism.default conflicts with flink.parallelism: set only one of them")},
		{"dynamic option instead of a field", app, func(r *messages.SubmitRequested) {
			r.Flink.Parallelism = 0
			r.Flink.DynamicOptions = []string{"-Dparallelism.default=8"}
		}, nil},
		{"dynamic option conflicts with savepoint", app, opts("-Dexecution.savepoint.path=s3://x/y"),
			fe("flink.dynamic_options[0]", "execution.savepoint.path conflicts with program.savepoint: set only one of them")},
		{"dynamic options duplicated", app, opts("-Da=1", "-Db=2", "-Da=3"), fe(
			"flink.dynamic_options[2]", "duplicate key a: given 2 times (at index 0, 2)",
		)},
		{"dynamic options three times", app, opts("-Da=1", "-Da=2", "-Da=3"), fe(
			"flink.dynamic_options[1]", "duplicate key a: given 3 times (at index 0, 1, 2)",
		)},
		{"dynamic options duplicated 10,000 times: one problem", app, func(r *messages.SubmitRequested) {
			r.Flink.DynamicOptions = nil
			for range 10000 {
				r.Flink.DynamicOptions = append(r.Flink.DynamicOptions, "-Da=1")
			}
		}, fe(
			"flink.dynamic_options", "must have at most 512 entries, got 10000",
			"flink.dynamic_options[1]", "duplicate key a: given 512 times (at index 0, 1, 2, 3, 4, 5, 6, 7 and 504 more)",
		)},
		{"dynamic option value with NUL", app, opts("-Dpipeline.name=a\x00b"), fe("flink.dynamic_options[0]", "value of pipeline.name must not contain control characters")},
		{"dynamic option value with unicode line separator", app, opts("-Dpipeline.name=a\u2028b"), fe("flink.dynamic_options[0]", "value of pipeline.name must not contain line breaks")},
		{"dynamic option key with control character", app, opts("-Dpipeline\x1bname=a"), fe("flink.dynamic_options[0]", `key "pipeline\x1bname" contains a control character`)},
		{"dynamic options too many", app, func(r *messages.SubmitRequested) {
			r.Flink.DynamicOptions = nil
			for i := range 513 {
				r.Flink.DynamicOptions = append(r.Flink.DynamicOptions, fmt.Sprintf("-Dk%d=v", i))
			}
		}, fe("flink.dynamic_options", "must have at most 512 entries, got 513")},

		// flink.parallelism
		{"parallelism negative", app, func(r *messages.SubmitRequested) { r.Flink.Parallelism = -1 },
			fe("flink.parallelism", "must be between 1 and 32768, or 0 for Flink's default, got -1")},
		{"parallelism too high", app, func(r *messages.SubmitRequested) { r.Flink.Parallelism = 32769 },
			fe("flink.parallelism", "must be between 1 and 32768, or 0 for Flink's default, got 32769")},
		{"parallelism max", app, func(r *messages.SubmitRequested) { r.Flink.Parallelism = 32768 }, nil},

		// flink.jobmanager and flink.taskmanager
		{"jobmanager memory not a size", app, func(r *messages.SubmitRequested) { r.Flink.JobManager.Memory = "lots" },
			fe("flink.jobmanager.memory", "must be a Flink memory size such as 1600m, 2g or 1024mb")},
		{"jobmanager memory bad unit", app, func(r *messages.SubmitRequested) { r.Flink.JobManager.Memory = "2gib" },
			fe("flink.jobmanager.memory", `unknown memory unit "gib": use b, k, m, g or t (or kb, mb, gb, tb)`)},
		{"jobmanager memory zero", app, func(r *messages.SubmitRequested) { r.Flink.JobManager.Memory = "0m" }, fe("flink.jobmanager.memory", "must be more than 0")},
		{"jobmanager memory overflow", app, func(r *messages.SubmitRequested) { r.Flink.JobManager.Memory = "99999999t" }, fe("flink.jobmanager.memory", "memory size too large")},
		{"jobmanager memory Flink spellings", app, func(r *messages.SubmitRequested) {
			r.Flink.JobManager.Memory = "1600 MB"
			r.Flink.TaskManager.Memory = "2 gibibytes"
		}, nil},
		{"jobmanager memory in bytes", app, func(r *messages.SubmitRequested) { r.Flink.JobManager.Memory = "1677721600" }, nil},
		{"jobmanager cpu too high", app, func(r *messages.SubmitRequested) { r.Flink.JobManager.CPU = 64.5 },
			fe("flink.jobmanager.cpu", "must be more than 0 and at most 64, or 0 for Flink's default, got 64.5")},
		{"jobmanager cpu fraction", app, func(r *messages.SubmitRequested) { r.Flink.JobManager.CPU = 0.25 }, nil},
		{"taskmanager cpu negative", app, func(r *messages.SubmitRequested) { r.Flink.TaskManager.CPU = -1 },
			fe("flink.taskmanager.cpu", "must be more than 0 and at most 64, or 0 for Flink's default, got -1")},
		{"taskmanager memory bad", app, func(r *messages.SubmitRequested) { r.Flink.TaskManager.Memory = "-1g" },
			fe("flink.taskmanager.memory", "must be a Flink memory size such as 1600m, 2g or 1024mb")},
		{"taskmanager slots too many", app, func(r *messages.SubmitRequested) { r.Flink.TaskManager.Slots = 1025 },
			fe("flink.taskmanager.slots", "must be between 1 and 1024, or 0 for Flink's default, got 1025")},
		{"taskmanager slots negative", app, func(r *messages.SubmitRequested) { r.Flink.TaskManager.Slots = -2 },
			fe("flink.taskmanager.slots", "must be between 1 and 1024, or 0 for Flink's default, got -2")},
		{"resources in session", session, func(r *messages.SubmitRequested) {
			r.Flink.JobManager.CPU = 1
			r.Flink.TaskManager.Slots = 2
		}, fe(
			"flink.jobmanager", "not allowed in mode session: the session cluster owns it",
			"flink.taskmanager", "not allowed in mode session: the session cluster owns it",
		)},

		// program
		{"program missing in application", app, func(r *messages.SubmitRequested) { r.Program = nil }, fe("program", "required in mode application")},
		{"program missing in session", session, func(r *messages.SubmitRequested) { r.Program = nil }, fe("program", "required in mode session")},
		{"program in session-cluster", cluster, func(r *messages.SubmitRequested) {
			r.Program = &messages.Program{Jar: messages.Jar{URL: "https://x.example.com/a.jar"}}
		}, fe("program", "not allowed in mode session-cluster: a session cluster runs no job of its own")},
		{"jar with url and maven", app, func(r *messages.SubmitRequested) { r.Program.Jar.Maven = "com.example:a:1.0" }, fe("program.jar", "set only one of url and maven")},
		{"jar with neither", app, func(r *messages.SubmitRequested) { r.Program.Jar = messages.Jar{} }, fe("program.jar", "required: set url or maven")},
		{"jar url ftp", app, func(r *messages.SubmitRequested) { r.Program.Jar.URL = "ftp://example.com/a.jar" }, fe("program.jar.url", "must be an absolute http or https URL")},
		{"jar url relative", app, func(r *messages.SubmitRequested) { r.Program.Jar.URL = "/releases/a.jar" }, fe("program.jar.url", "must be an absolute http or https URL")},
		{"jar url without host", app, func(r *messages.SubmitRequested) { r.Program.Jar.URL = "https:///a.jar" }, fe("program.jar.url", "must have a host")},
		{"jar url with credentials", app, func(r *messages.SubmitRequested) { r.Program.Jar.URL = "https://u:p@example.com/a.jar" },
			fe("program.jar.url", "must not contain credentials: configure them in the workers")},
		{"jar url unparsable", app, func(r *messages.SubmitRequested) { r.Program.Jar.URL = "https://u:secret@exa mple.com/" },
			fe("program.jar.url", `must be a URL: invalid character " " in host name`)},
		{"jar url too long", app, func(r *messages.SubmitRequested) {
			r.Program.Jar.URL = "https://example.com/" + strings.Repeat("a", 2029)
		},
			fe("program.jar.url", "must be at most 2048 characters, got 2049")},
		{"jar maven bad", session, func(r *messages.SubmitRequested) { r.Program.Jar.Maven = "com.example/fraud/1.0" },
			fe("program.jar.maven", "must be a Maven coordinate group:artifact:version[:classifier]")},
		{"jar maven without version", session, func(r *messages.SubmitRequested) { r.Program.Jar.Maven = "com.example:fraud" },
			fe("program.jar.maven", "must be a Maven coordinate group:artifact:version[:classifier]")},
		{"jar sha256 uppercase", app, func(r *messages.SubmitRequested) { r.Program.Jar.SHA256 = strings.Repeat("A", 64) },
			fe("program.jar.sha256", "must be 64 lowercase hexadecimal characters")},
		{"jar sha256 short", app, func(r *messages.SubmitRequested) { r.Program.Jar.SHA256 = "abc" },
			fe("program.jar.sha256", "must be 64 lowercase hexadecimal characters")},
		{"main_class bad", app, func(r *messages.SubmitRequested) { r.Program.MainClass = "com.example.1Job" },
			fe("program.main_class", "must be a fully qualified Java class name such as com.example.WordCount")},
		{"main_class with slash", app, func(r *messages.SubmitRequested) { r.Program.MainClass = "com/example/Job" },
			fe("program.main_class", "must be a fully qualified Java class name such as com.example.WordCount")},
		{"main_class nested and in default package", app, func(r *messages.SubmitRequested) { r.Program.MainClass = "Job$Inner" }, nil},
		{"main_class too long", app, func(r *messages.SubmitRequested) { r.Program.MainClass = strings.Repeat("a", 1025) },
			fe("program.main_class", "must be at most 1024 characters, got 1025")},
		{"args too many", app, func(r *messages.SubmitRequested) { r.Program.Args = make([]string, 1025) },
			fe("program.args", "must have at most 1024 entries, got 1025")},
		{"arg too long", app, func(r *messages.SubmitRequested) { r.Program.Args[2] = strings.Repeat("a", 64<<10+1) },
			fe("program.args[2]", "must be at most 65536 bytes, got 65537")},
		{"arg with NUL", app, func(r *messages.SubmitRequested) { r.Program.Args[1] = "a\x00b" },
			fe("program.args[1]", "must not contain control characters other than tab and line breaks")},
		{"args with tabs, line breaks, quotes, semicolons and unicode", app, func(r *messages.SubmitRequested) {
			r.Program.Args = []string{"--query", "SELECT 'a;b'\n\tFROM \"t\", u;", "日本語"}
		}, nil},
		{"savepoint path with C1 control", app, func(r *messages.SubmitRequested) { r.Program.Savepoint.Path = "s3://b/sp\u0085x" },
			fe("program.savepoint.path", "must not contain control characters")},
		{"arg with '#' on Flink 1.18", app, func(r *messages.SubmitRequested) { r.Flink.Version = "1.18"; r.Program.Args[1] = "a#b" },
			fe("program.args[1]", "Flink before 1.19 reads flink-conf.yaml, which cannot carry '#' or line breaks (the rest of the line is dropped): use Flink 1.19 or later")},
		{"arg with a line break on Flink 1.17", app, func(r *messages.SubmitRequested) { r.Flink.Version = "1.17"; r.Program.Args[0] = "a\nb" },
			fe("program.args[0]", "Flink before 1.19 reads flink-conf.yaml, which cannot carry '#' or line breaks (the rest of the line is dropped): use Flink 1.19 or later")},
		{"arg with '#' and a line break on Flink 1.19", app, func(r *messages.SubmitRequested) { r.Flink.Version = "1.19"; r.Program.Args[1] = "a#b\nc" }, nil},
		{"dynamic option value with '#' on Flink 1.18", app, func(r *messages.SubmitRequested) {
			r.Flink.Version = "1.18"
			r.Program.Savepoint.RestoreMode = ""
			r.Flink.DynamicOptions = []string{"-Dpipeline.name=a#b"}
		}, fe("flink.dynamic_options[0]", "Flink before 1.19 reads flink-conf.yaml, which cannot carry '#' or line breaks (the rest of the line is dropped): use Flink 1.19 or later")},
		{"flink_job_id bad", app, func(r *messages.SubmitRequested) { r.Program.FlinkJobID = strings.Repeat("A", 32) },
			fe("program.flink_job_id", "must be 32 lowercase hexadecimal characters")},
		{"savepoint without path", app, func(r *messages.SubmitRequested) { r.Program.Savepoint.Path = "" }, fe("program.savepoint.path", "required")},
		{"savepoint path without scheme", app, func(r *messages.SubmitRequested) { r.Program.Savepoint.Path = "/tmp/savepoint-1" },
			fe("program.savepoint.path", "must be a URI with a scheme, e.g. s3://bucket/savepoints/savepoint-1 or file:///mnt/savepoints/savepoint-1")},
		{"savepoint path of a root", app, func(r *messages.SubmitRequested) { r.Program.Savepoint.Path = "file:///" },
			fe("program.savepoint.path", "must be a URI with a scheme, e.g. s3://bucket/savepoints/savepoint-1 or file:///mnt/savepoints/savepoint-1")},
		{"savepoint path hdfs", app, func(r *messages.SubmitRequested) { r.Program.Savepoint.Path = "hdfs:///flink/savepoints/savepoint-1" }, nil},
		{"savepoint path too long", app, func(r *messages.SubmitRequested) { r.Program.Savepoint.Path = "s3://b/" + strings.Repeat("a", 4090) },
			fe("program.savepoint.path", "must be at most 4096 characters, got 4097")},
		{"restore_mode unknown", app, func(r *messages.SubmitRequested) { r.Program.Savepoint.RestoreMode = "claim" },
			fe("program.savepoint.restore_mode", `must be one of CLAIM, NO_CLAIM, LEGACY, got "claim"`)},
		{"restore_mode LEGACY on 1.20", app, func(r *messages.SubmitRequested) { r.Program.Savepoint.RestoreMode = messages.RestoreLegacy }, nil},
		{"restore_mode LEGACY on 2.0", app, func(r *messages.SubmitRequested) {
			r.Flink.Version = "2.0"
			r.Program.Savepoint.RestoreMode = messages.RestoreLegacy
		}, fe("program.savepoint.restore_mode", "LEGACY was removed in Flink 2.0: use CLAIM or NO_CLAIM")},

		// labels
		{"labels too many", app, func(r *messages.SubmitRequested) { r.Labels = manyLabels }, fe("labels", "must have at most 32 entries, got 33")},
		{"label reserved", app, func(r *messages.SubmitRequested) { r.Labels = map[string]string{"app": "x"} },
			fe("labels[app]", "key is reserved: Flink and flinkferry set it on the cluster's objects")},
		{"label key bad", app, func(r *messages.SubmitRequested) { r.Labels = map[string]string{"a b": "x"} },
			fe("labels[a b]", "invalid key: "+content.IsLabelKey("a b")[0])},
		{"label value bad", app, func(r *messages.SubmitRequested) { r.Labels = map[string]string{"team": "a b"} },
			fe("labels[team]", "invalid value: "+content.IsLabelValue("a b")[0])},
		{"label value empty", app, func(r *messages.SubmitRequested) { r.Labels = map[string]string{"team": ""} }, nil},

		// many problems at once, all reported, sorted
		{"everything wrong", app, func(r *messages.SubmitRequested) {
			*r = messages.SubmitRequested{Program: &messages.Program{}, Flink: messages.FlinkOptions{DynamicOptions: []string{"x"}}}
		}, fe(
			"flink.dynamic_options[0]", "must start with -D, as in -Dkey=value",
			"flink.version", "required",
			"job.cluster_id", "required",
			"job.namespace", "required",
			"mode", "required",
			"program.jar", "required: set url or maven",
			"request_id", "required",
		)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := load[*messages.SubmitRequested](t, tt.base)
			if tt.mutate != nil {
				tt.mutate(r)
			}
			got := fieldErrorsOf(t, r.Validate())
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("Validate() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFlinkJobID(t *testing.T) {
	tests := []struct {
		name string
		req  messages.SubmitRequested
		want string
	}{{
		name: "given",
		req:  messages.SubmitRequested{RequestID: "r1", Program: &messages.Program{FlinkJobID: "0123456789abcdef0123456789abcdef"}},
		want: "0123456789abcdef0123456789abcdef",
	}, {
		// sha256("flinkferry/r1"), first 16 bytes.
		name: "derived from request_id",
		req:  messages.SubmitRequested{RequestID: "r1", Program: &messages.Program{}},
		want: "245d5f0cdbe36c6f15727521b5983453",
	}, {
		name: "no program",
		req:  messages.SubmitRequested{RequestID: "r1", Mode: messages.ModeSessionCluster},
		want: "",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := tt.req.FlinkJobID(), tt.want; got != want {
				t.Fatalf("FlinkJobID() = %q, want %q", got, want)
			}
		})
	}
}
