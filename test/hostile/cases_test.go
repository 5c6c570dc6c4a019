package hostile

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// The cases, one method per part of the request (see generate). Each
// adds the violations of its fields' rules: type, pattern, length, range,
// required-ness and mode, then the attacks on them.

func (g *gen) requestIDCases() {
	const f = "request_id"
	g.req("required", "request_id missing", invalid(f), del(f))
	g.req("required", "request_id empty", invalid(f), set(f, ""))
	g.req("required", "request_id null", invalid(f), set(f, nil))
	g.req("length", "request_id 129 characters", invalid(f), set(f, strings.Repeat("r", 129)))
	g.req("length", "request_id 100000 characters", invalid(f), set(f, strings.Repeat("r", 100_000)))
	g.req("pattern", "request_id with a blank", invalid(f), set(f, "hostile request"))
	g.req("pattern", "request_id with a slash", invalid(f), set(f, "../../etc/passwd"))
	g.req("pattern", "request_id not ASCII", invalid(f), set(f, "réquest-1"))
	g.req("pattern", "request_id with a shell substitution", invalid(f), set(f, "$(reboot)"))
	g.req("control-chars", "request_id with an escaped newline", invalid(f), set(f, "req\nINFO forged log line"))
	g.req("control-chars", "request_id with an escaped NUL", invalid(f), set(f, "req\x00id"))
	g.req("type", "request_id a number", wrongType(f), set(f, 42))
	g.req("type", "request_id a boolean", wrongType(f), set(f, true))
	g.req("type", "request_id an object", wrongType(f), set(f, obj{"id": "x"}))
	g.req("type", "request_id an array", wrongType(f), set(f, []any{"a", "b"}))
}

func (g *gen) jobCases() {
	g.req("required", "job missing", invalid("job.namespace"), del("job"))
	g.req("required", "job null", invalid("job.cluster_id"), set("job", nil))
	g.req("type", "job a string", wrongType("job"), set("job", "flink-jobs/h"))
	g.req("type", "job an array", wrongType("job"), set("job", []any{devNamespace}))
	g.req("unknown-field", "job.name unknown", deadLetter(rUnknownField, "job.name"), set("job.name", "x"))

	const ns = "job.namespace"
	g.req("required", "job.namespace missing", invalid(ns), del(ns))
	g.req("required", "job.namespace empty", invalid(ns), set(ns, ""))
	g.req("pattern", "job.namespace upper case", invalid(ns), set(ns, "Flink-Jobs"))
	g.req("pattern", "job.namespace with an underscore", invalid(ns), set(ns, "flink_jobs"))
	g.req("pattern", "job.namespace leading dash", invalid(ns), set(ns, "-flink-jobs"))
	g.req("pattern", "job.namespace path traversal", invalid(ns), set(ns, "../kube-system"))
	g.req("pattern", "job.namespace with a dot", invalid(ns), set(ns, "kube-system.flink-jobs"))
	g.req("length", "job.namespace 64 characters", invalid(ns), set(ns, strings.Repeat("n", 64)))
	g.req("type", "job.namespace a number", wrongType(ns), set(ns, 7))
	g.req("namespace", "job.namespace kube-system", buildFailed(rNamespace, ns), set(ns, "kube-system"))
	g.req("namespace", "job.namespace default", buildFailed(rNamespace, ns), set(ns, "default"))
	g.req("namespace", "job.namespace kube-public", buildFailed(rNamespace, ns), set(ns, "kube-public"))
	g.req("namespace", "job.namespace flink-jobs2 (near miss)", buildFailed(rNamespace, ns), set(ns, "flink-jobs2"))
	// A move stops and removes the job where it runs: upgrade.from is
	// admitted as the job's own place.
	g.req("namespace", "upgrade.from.namespace kube-system", buildFailed(rNamespace, "upgrade.from.namespace"), set("upgrade.from.namespace", "kube-system"))
	g.req("namespace", "upgrade.from.kube_cluster not configured", buildFailed(rKubeCluster, "upgrade.from.kube_cluster"), set("upgrade.from.kube_cluster", "mars"))

	const id = "job.cluster_id"
	g.req("required", "job.cluster_id missing", invalid(id), del(id))
	g.req("required", "job.cluster_id empty", invalid(id), set(id, ""))
	g.req("length", "job.cluster_id 46 characters", invalid(id), set(id, "h"+strings.Repeat("x", 45)))
	g.req("length", "job.cluster_id 10000 characters", invalid(id), set(id, "h"+strings.Repeat("x", 9999)))
	g.req("pattern", "job.cluster_id leading digit", invalid(id), set(id, "1-wordcount"))
	g.req("pattern", "job.cluster_id upper case", invalid(id), set(id, "WordCount"))
	g.req("pattern", "job.cluster_id trailing dash", invalid(id), set(id, "wordcount-"))
	g.req("pattern", "job.cluster_id with a dot", invalid(id), set(id, "word.count"))
	g.req("pattern", "job.cluster_id path traversal", invalid(id), set(id, "../../flinkferry-base"))
	g.req("control-chars", "job.cluster_id with an escaped NUL", invalid(id), set(id, "h\x00x"))
	g.req("type", "job.cluster_id a number", wrongType(id), set(id, 1))

	const kc = "job.kube_cluster"
	g.req("pattern", "job.kube_cluster upper case", invalid(kc), set(kc, "Prod"))
	g.req("pattern", "job.kube_cluster with an underscore", invalid(kc), set(kc, "prod_east"))
	g.req("length", "job.kube_cluster 64 characters", invalid(kc), set(kc, strings.Repeat("k", 64)))
	g.req("type", "job.kube_cluster a boolean", wrongType(kc), set(kc, false))
	g.req("kube-cluster", "job.kube_cluster unknown", buildFailed(rKubeCluster, kc), set(kc, "prod-east"))
	g.req("kube-cluster", "job.kube_cluster kube-system", buildFailed(rKubeCluster, kc), set(kc, "kube-system"))
}

func (g *gen) modeCases() {
	const m = "mode"
	g.req("required", "mode missing", invalid(m), del(m))
	g.req("required", "mode empty", invalid(m), set(m, ""))
	g.req("pattern", "mode capitalised", invalid(m), set(m, "Application"))
	g.req("pattern", "mode yarn-per-job", invalid(m), set(m, "yarn-per-job"))
	g.req("type", "mode a number", wrongType(m), set(m, 1))
	g.req("type", "mode an array", wrongType(m), set(m, []any{"application", "session"}))

	const sc = "session_cluster_id"
	session := []mutation{set(m, "session"), set(sc, "shared-session"), del("kubernetes"), del("flink.jobmanager"), del("flink.taskmanager")}
	with := func(ms ...mutation) []mutation { return append(append([]mutation(nil), session...), ms...) }
	g.req("mode", "session_cluster_id in mode application", invalid(sc), set(sc, "shared-session"))
	g.req("mode", "session_cluster_id in mode session-cluster", invalid(sc), set(m, "session-cluster"), del("program"), set(sc, "shared-session"))
	g.req("mode", "mode session without session_cluster_id", invalid(sc), with(del(sc))...)
	g.req("mode", "mode session, session_cluster_id = job.cluster_id", invalid(sc), with(func(o obj) { o[sc] = o["job"].(obj)["cluster_id"] })...)
	g.req("pattern", "session_cluster_id with an underscore", invalid(sc), with(set(sc, "shared_session"))...)
	g.req("length", "session_cluster_id 46 characters", invalid(sc), with(set(sc, "s"+strings.Repeat("x", 45)))...)
	g.req("type", "session_cluster_id a number", wrongType(sc), with(set(sc, 5))...)
	g.req("mode", "mode session with kubernetes.service_account", invalid("kubernetes.service_account"), with(set("kubernetes.service_account", "default"))...)
	g.req("mode", "mode session with kubernetes.rest_exposed_type", invalid("kubernetes.rest_exposed_type"), with(set("kubernetes.rest_exposed_type", "NodePort"))...)
	g.req("mode", "mode session with kubernetes.pod_template", invalid("kubernetes.pod_template"), with(set("kubernetes.pod_template", podTemplate("")))...)
	g.req("mode", "mode session with flink.jobmanager", invalid("flink.jobmanager"), with(set("flink.jobmanager", obj{"memory": "1g"}))...)
	g.req("mode", "mode session with flink.taskmanager", invalid("flink.taskmanager"), with(set("flink.taskmanager", obj{"slots": 4}))...)
	g.req("mode", "mode session with flink.base_image", invalid("flink.base_image"), with(set("flink.base_image", "flink:1.20"))...)
	g.req("mode", "mode session without program", invalid("program"), with(del("program"))...)
	g.req("mode", "mode session-cluster with a program", invalid("program"), set(m, "session-cluster"))
	g.req("mode", "mode application without program", invalid("program"), del("program"))
	g.req("mode", "mode application, program null", invalid("program"), set("program", nil))
}

func (g *gen) kubernetesCases() {
	g.req("type", "kubernetes a string", wrongType("kubernetes"), set("kubernetes", "privileged"))
	g.req("unknown-field", "kubernetes.namespace unknown", deadLetter(rUnknownField, "kubernetes.namespace"), set("kubernetes.namespace", "kube-system"))
	g.req("unknown-field", "kubernetes.host_network unknown", deadLetter(rUnknownField, "kubernetes.host_network"), set("kubernetes.host_network", true))

	const sa = "kubernetes.service_account"
	g.req("pattern", "kubernetes.service_account upper case", invalid(sa), set(sa, "Flink"))
	g.req("pattern", "kubernetes.service_account with an underscore", invalid(sa), set(sa, "flink_sa"))
	g.req("pattern", "kubernetes.service_account as a user name", invalid(sa), set(sa, "system:serviceaccount:kube-system:default"))
	g.req("length", "kubernetes.service_account 254 characters", invalid(sa), set(sa, strings.Repeat("s", 254)))
	g.req("type", "kubernetes.service_account a number", wrongType(sa), set(sa, 0))
	g.req("service-account", "kubernetes.service_account cluster-admin", buildFailed(rSA, sa), set(sa, "cluster-admin"))
	g.req("service-account", "kubernetes.service_account flink (not allowed)", buildFailed(rSA, sa), set(sa, "flink"))
	g.req("service-account", "kubernetes.service_account kube-system's default (dotted)", buildFailed(rSA, sa), set(sa, "default.kube-system"))

	const rt = "kubernetes.rest_exposed_type"
	g.req("pattern", "kubernetes.rest_exposed_type lower case", invalid(rt), set(rt, "clusterip"))
	g.req("pattern", "kubernetes.rest_exposed_type ExternalName", invalid(rt), set(rt, "ExternalName"))
	g.req("type", "kubernetes.rest_exposed_type a number", wrongType(rt), set(rt, 30000))
}

// podTemplate is a Pod whose spec holds spec (indented two spaces), with
// the main container Flink requires.
func podTemplate(spec string) string {
	return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: pod-template\nspec:\n" +
		"  containers:\n  - name: flink-main-container\n" + spec
}

// billionLaughs is the YAML alias bomb: nine levels of nine references.
func billionLaughs() string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Pod\nmetadata:\n  annotations:\n")
	b.WriteString("    a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	prev := "a"
	for _, name := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		refs := strings.TrimSuffix(strings.Repeat("*"+prev+",", 9), ",")
		fmt.Fprintf(&b, "    %s: &%s [%s]\n", name, name, refs)
		prev = name
	}
	b.WriteString("spec:\n  containers:\n  - name: flink-main-container\n")
	return b.String()
}

func (g *gen) podTemplateCases() {
	const pt, jm, tm = "kubernetes.pod_template", "kubernetes.jobmanager_pod_template", "kubernetes.taskmanager_pod_template"
	g.req("pod-template", "pod_template not YAML", invalid(pt), set(pt, "{{{ not: yaml"))
	g.req("pod-template", "pod_template a YAML list", invalid(pt), set(pt, "- name: flink-main-container\n"))
	g.req("pod-template", "pod_template a YAML scalar", invalid(pt), set(pt, "just a string"))
	g.req("pod-template", "pod_template kind Deployment", invalid(pt), set(pt, strings.Replace(podTemplate(""), "kind: Pod", "kind: Deployment", 1)))
	g.req("pod-template", "pod_template duplicate keys", invalid(pt), set(pt, podTemplate("  hostNetwork: false\n  hostNetwork: true\n")))
	g.req("length", "pod_template larger than 256 KiB", invalid(pt), set(pt, podTemplate("")+"# "+strings.Repeat("x", 256<<10)+"\n"))
	g.req("resource-exhaustion", "pod_template billion laughs", invalid(pt), set(pt, billionLaughs()))
	g.req("resource-exhaustion", "jobmanager_pod_template billion laughs", invalid(jm), set(jm, billionLaughs()))
	g.req("resource-exhaustion", "pod_template nested 20000 levels", invalid(pt),
		set(pt, "metadata:\n  annotations:\n    deep: "+strings.Repeat("[", 20_000)+strings.Repeat("]", 20_000)+"\n"))
	g.req("type", "pod_template an object", wrongType(pt), set(pt, obj{"spec": obj{"hostNetwork": true}}))

	g.req("pod-template", "pod_template main container named app", buildFailed(rPodTemplate, pt),
		set(pt, "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: app\n    image: evil:latest\n"))
	g.req("pod-template", "taskmanager_pod_template main container named sidecar", buildFailed(rPodTemplate, tm),
		set(tm, "spec:\n  containers:\n  - name: sidecar\n    securityContext:\n      privileged: true\n"))
	g.req("pod-template", "pod_template containers not a list", buildFailed(rPodTemplate, pt),
		set(pt, "spec:\n  containers: flink-main-container\n"))

	sec := func(name, tmpl string) { g.req("pod-security", name, buildFailed(rPodSecurity, pt), set(pt, tmpl)) }
	sec("pod_template hostNetwork", podTemplate("  hostNetwork: true\n"))
	sec("pod_template hostPID", podTemplate("  hostPID: true\n"))
	sec("pod_template hostIPC", podTemplate("  hostIPC: true\n"))
	sec("pod_template privileged main container", podTemplate("    securityContext:\n      privileged: true\n"))
	sec("pod_template hostPath /", podTemplate("    volumeMounts:\n    - name: host\n      mountPath: /host\n  volumes:\n  - name: host\n    hostPath:\n      path: /\n"))
	sec("pod_template hostPath docker socket", podTemplate("  volumes:\n  - name: sock\n    hostPath:\n      path: /var/run/docker.sock\n"))
	sec("pod_template capability SYS_ADMIN", podTemplate("    securityContext:\n      capabilities:\n        add: [SYS_ADMIN]\n"))
	sec("pod_template hostPort", podTemplate("    ports:\n    - containerPort: 8081\n      hostPort: 8081\n"))
	sec("pod_template privileged init container", podTemplate("  initContainers:\n  - name: init\n    securityContext:\n      privileged: true\n"))
	sec("pod_template privileged sidecar", podTemplate("  - name: sidecar\n    securityContext:\n      privileged: true\n"))
	sec("pod_template AppArmor unconfined annotation", strings.Replace(podTemplate(""), "  name: pod-template\n",
		"  name: pod-template\n  annotations:\n    container.apparmor.security.beta.kubernetes.io/flink-main-container: unconfined\n", 1))
	sec("pod_template AppArmor unconfined field", podTemplate("  securityContext:\n    appArmorProfile:\n      type: Unconfined\n"))
	sec("pod_template SELinux spc_t", podTemplate("    securityContext:\n      seLinuxOptions:\n        type: spc_t\n"))
	sec("pod_template procMount Unmasked", podTemplate("    securityContext:\n      procMount: Unmasked\n"))
	sec("pod_template unsafe sysctl", podTemplate("  securityContext:\n    sysctls:\n    - name: kernel.core_pattern\n      value: '|/tmp/x'\n"))
	sec("pod_template seccomp Unconfined", podTemplate("  securityContext:\n    seccompProfile:\n      type: Unconfined\n"))
	sec("pod_template Windows hostProcess", podTemplate("  securityContext:\n    windowsOptions:\n      hostProcess: true\n"))
	g.req("pod-security", "jobmanager_pod_template hostNetwork", buildFailed(rPodSecurity, jm), set(jm, podTemplate("  hostNetwork: true\n")))
	g.req("pod-security", "taskmanager_pod_template privileged", buildFailed(rPodSecurity, tm), set(tm, podTemplate("    securityContext:\n      privileged: true\n")))
	g.req("pod-security", "taskmanager_pod_template hostPath /", buildFailed(rPodSecurity, tm),
		set(tm, podTemplate("  volumes:\n  - name: root\n    hostPath:\n      path: /\n")))

	g.req("service-account", "pod_template serviceAccountName cluster-admin", buildFailed(rSA, pt), set(pt, podTemplate("  serviceAccountName: cluster-admin\n")))
	g.req("service-account", "pod_template deprecated serviceAccount cluster-admin", buildFailed(rSA, pt), set(pt, podTemplate("  serviceAccount: cluster-admin\n")))
	g.req("service-account", "jobmanager_pod_template serviceAccountName flink", buildFailed(rSA, jm), set(jm, podTemplate("  serviceAccountName: flink\n")))
}

func (g *gen) flinkCases() {
	g.req("required", "flink missing", invalid("flink.version"), del("flink"))
	g.req("type", "flink an array", wrongType("flink"), set("flink", []any{"1.20"}))
	g.req("unknown-field", "flink.config unknown", deadLetter(rUnknownField, "flink.config"), set("flink.config", obj{"pipeline.jars": "file:///etc/passwd"}))

	const v = "flink.version"
	g.req("required", "flink.version empty", invalid(v), set(v, ""))
	g.req("range", "flink.version 1.16", invalid(v), set(v, "1.16"))
	g.req("range", "flink.version 3.0", invalid(v), set(v, "3.0"))
	g.req("pattern", "flink.version with a patch", invalid(v), set(v, "1.20.1"))
	g.req("pattern", "flink.version with a v", invalid(v), set(v, "v1.20"))
	g.req("pattern", "flink.version major only", invalid(v), set(v, "2"))
	g.req("type", "flink.version a number", wrongType(v), set(v, 1.2))

	const bi = "flink.base_image"
	g.req("pattern", "flink.base_image upper case repository", invalid(bi), set(bi, "Evil/Flink:1.20"))
	g.req("pattern", "flink.base_image with a blank", invalid(bi), set(bi, "flink:1.20 --privileged"))
	g.req("pattern", "flink.base_image bad digest", invalid(bi), set(bi, "flink@sha256:1234"))
	g.req("length", "flink.base_image 513 characters", invalid(bi), set(bi, "flink:"+strings.Repeat("t", 507)))

	const p = "flink.parallelism"
	g.req("range", "flink.parallelism negative", invalid(p), set(p, -1))
	g.req("range", "flink.parallelism 32769", invalid(p), set(p, 32769))
	g.req("type", "flink.parallelism fractional", wrongType(p), set(p, 1.5))
	g.req("type", "flink.parallelism a string", wrongType(p), set(p, "1"))
	g.req("type", "flink.parallelism exponent", wrongType(p), set(p, raw("1e10")))
	g.req("type", "flink.parallelism beyond 64 bits", wrongType(p), set(p, raw("9223372036854775808")))

	for _, role := range []string{"jobmanager", "taskmanager"} {
		mem, cpu := "flink."+role+".memory", "flink."+role+".cpu"
		g.req("pattern", "flink."+role+".memory not a size", invalid(mem), set(mem, "lots"))
		g.req("range", "flink."+role+".memory zero", invalid(mem), set(mem, "0m"))
		g.req("pattern", "flink."+role+".memory unknown unit", invalid(mem), set(mem, "1024 parsecs"))
		g.req("range", "flink."+role+".memory beyond 64 bits", invalid(mem), set(mem, "99999999999999999999g"))
		g.req("type", "flink."+role+".memory a number", wrongType(mem), set(mem, 1024))
		g.req("range", "flink."+role+".cpu negative", invalid(cpu), set(cpu, -1))
		g.req("range", "flink."+role+".cpu 65", invalid(cpu), set(cpu, 65))
		g.req("type", "flink."+role+".cpu a string", wrongType(cpu), set(cpu, "1"))
		g.req("type", "flink."+role+".cpu 1e309", wrongType(cpu), set(cpu, raw("1e309")))
		g.req("unknown-field", "flink."+role+".replicas unknown", deadLetter(rUnknownField, "flink."+role+".replicas"), set("flink."+role+".replicas", 100))
	}
	const slots = "flink.taskmanager.slots"
	g.req("range", "flink.taskmanager.slots negative", invalid(slots), set(slots, -1))
	g.req("range", "flink.taskmanager.slots 1025", invalid(slots), set(slots, 1025))
	g.req("type", "flink.taskmanager.slots fractional", wrongType(slots), set(slots, 2.5))
}

func (g *gen) dynamicOptionCases() {
	const d = "flink.dynamic_options"
	d0 := d + "[0]"
	opts := func(o ...any) mutation { return set(d, o) }
	g.req("type", "dynamic_options a string", wrongType(d), set(d, "-Dparallelism.default=4"))
	g.req("type", "dynamic_options an object", wrongType(d), set(d, obj{"parallelism.default": "4"}))
	g.req("type", "dynamic_options entry a number", wrongType(d0), opts(4))
	g.req("pattern", "dynamic_options entry without -D", invalid(d0), opts("parallelism.default=4"))
	g.req("pattern", "dynamic_options entry without =", invalid(d0), opts("-Dparallelism.default"))
	g.req("pattern", "dynamic_options empty key", invalid(d0), opts("-D=4"))
	g.req("pattern", "dynamic_options key with a blank", invalid(d0), opts("-Dkubernetes.service-account =cluster-admin"))
	g.req("pattern", "dynamic_options -D then a blank", invalid(d0), opts("-D kubernetes.service-account=cluster-admin"))
	g.req("control-chars", "dynamic_options value with an escaped newline (config injection)", invalid(d0),
		opts("-Dpipeline.name=job\nkubernetes.service-account: cluster-admin"))
	g.req("control-chars", "dynamic_options value with an escaped carriage return", invalid(d0), opts("-Dpipeline.name=job\rkubernetes.hostnetwork.enabled: true"))
	g.req("control-chars", "dynamic_options value with an escaped NUL", invalid(d0), opts("-Dpipeline.name=job\x00cluster-admin"))
	g.req("control-chars", "dynamic_options value with an escaped ESC", invalid(d0), opts("-Dpipeline.name=\x1b[31mred"))
	g.req("control-chars", "dynamic_options value with U+2028", invalid(d0), opts("-Dpipeline.name=job\u2028kubernetes.service-account: cluster-admin"))
	g.req("control-chars", "dynamic_options value with C1 NEL", invalid(d0), opts("-Dpipeline.name=job\u0085x"))
	g.req("control-chars", "dynamic_options key with an escaped NUL", invalid(d0), opts("-Dpipeline\x00.name=x"))
	g.req("control-chars", "dynamic_options key with DEL", invalid(d0), opts("-Dpipeline\x7f.name=x"))
	for _, k := range []string{
		"$internal.pipeline.job-id=00000000000000000000000000000000",
		"$internal.application.main=com.evil.Main",
		"$internal.application.program-args=--evil",
		"kubernetes.cluster-id=victim",
		"kubernetes.namespace=kube-system",
		"pipeline.jars=file:///etc/passwd",
		"execution.target=remote",
		"kubernetes.container.image=evil:latest",
		"kubernetes.container.image.ref=evil:latest",
		"kubernetes.pod-template-file.default=/etc/passwd",
		"kubernetes.pod-template-file.jobmanager=/tmp/jm.yaml",
		"execution.shutdown-on-application-finish=false",
	} {
		key, _, _ := strings.Cut(k, "=")
		g.req("reserved-keys", "dynamic_options reserved "+key, invalid(d0), opts("-D"+k))
	}
	g.req("reserved-keys", "dynamic_options parallelism.default with flink.parallelism", invalid(d0), opts("-Dparallelism.default=4"))
	g.req("reserved-keys", "dynamic_options kubernetes.service-account with kubernetes.service_account", invalid(d0),
		opts("-Dkubernetes.service-account=default"), set("kubernetes.service_account", "default"))
	g.req("reserved-keys", "dynamic_options taskmanager.numberOfTaskSlots with flink.taskmanager.slots", invalid(d0), opts("-Dtaskmanager.numberOfTaskSlots=8"))
	g.req("reserved-keys", "dynamic_options execution.savepoint.path with program.savepoint", invalid(d0),
		opts("-Dexecution.savepoint.path=s3://other/sp"), set("program.savepoint", obj{"path": "s3://bucket/sp-1"}))
	g.req("pattern", "dynamic_options duplicate key", invalid(d+"[1]"), opts("-Dpipeline.name=a", "-Dpipeline.name=b"))

	same := make([]any, 10_000)
	for i := range same {
		same[i] = "-Dpipeline.name=same"
	}
	g.req("resource-exhaustion", "dynamic_options 10000 identical entries", invalid(d), set(d, same))
	many := make([]any, 513)
	for i := range many {
		many[i] = fmt.Sprintf("-Duser.option-%d=v", i)
	}
	g.req("length", "dynamic_options 513 distinct entries", invalid(d), set(d, many))

	for _, o := range []string{"kubernetes.service-account", "kubernetes.jobmanager.service-account", "kubernetes.taskmanager.service-account"} {
		g.req("service-account", "dynamic_options "+o+"=cluster-admin", buildFailed(rSA, d0), opts("-D"+o+"=cluster-admin"))
	}
	g.req("service-account", "dynamic_options kubernetes.service-account= cluster-admin (blank before the value)", buildFailed(rSA, d0),
		opts("-Dkubernetes.service-account= cluster-admin"))
	g.req("service-account", "dynamic_options second entry kubernetes.taskmanager.service-account", buildFailed(rSA, d+"[1]"),
		opts("-Dpipeline.name=ok", "-Dkubernetes.taskmanager.service-account=flink-admin"))

	// A pod-shape option refuses the pods it changes; no template means
	// the refusal names the dynamic options.
	g.req("pod-security", "dynamic_options kubernetes.hostnetwork.enabled=true", buildFailed(rPodSecurity, d), opts("-Dkubernetes.hostnetwork.enabled=true"))
	g.req("pod-security", "dynamic_options kubernetes.hostnetwork.enabled=TRUE", buildFailed(rPodSecurity, d), opts("-Dkubernetes.hostnetwork.enabled=TRUE"))
	g.req("pod-security", "dynamic_options kubernetes.hostnetwork.enabled= true", buildFailed(rPodSecurity, d), opts("-Dkubernetes.hostnetwork.enabled= true"))
	g.req("pod-security", "dynamic_options jobmanager AppArmor unconfined annotation", buildFailed(rPodSecurity, d),
		opts("-Dkubernetes.jobmanager.annotations=container.apparmor.security.beta.kubernetes.io/flink-main-container:unconfined"))
	g.req("pod-security", "dynamic_options taskmanager AppArmor unconfined annotation", buildFailed(rPodSecurity, d),
		opts("-Dkubernetes.taskmanager.annotations=team:a,container.apparmor.security.beta.kubernetes.io/flink-main-container:unconfined"))
}

func (g *gen) programCases() {
	g.req("type", "program a string", wrongType("program"), set("program", "wordcount.jar"))
	g.req("unknown-field", "program.jar_url unknown", deadLetter(rUnknownField, "program.jar_url"), set("program.jar_url", devJarURL))
	g.req("required", "program.jar missing", invalid("program.jar"), del("program.jar"))
	g.req("required", "program.jar empty", invalid("program.jar"), set("program.jar", obj{}))
	g.req("mode", "program.jar url and maven", invalid("program.jar"), set("program.jar.maven", "org.apache.flink:wordcount:1.0"))
	g.req("type", "program.jar an array", wrongType("program.jar"), set("program.jar", []any{devJarURL}))

	const mc = "program.main_class"
	g.req("pattern", "program.main_class with a shell command", invalid(mc), set(mc, "com.Foo; rm -rf /"))
	g.req("pattern", "program.main_class path", invalid(mc), set(mc, "../../Evil"))
	g.req("pattern", "program.main_class leading dot", invalid(mc), set(mc, ".Main"))
	g.req("length", "program.main_class 1025 characters", invalid(mc), set(mc, "M"+strings.Repeat("a", 1024)))
	g.req("type", "program.main_class an array", wrongType(mc), set(mc, []any{"Main"}))

	const a = "program.args"
	g.req("type", "program.args a string", wrongType(a), set(a, "--input /etc/passwd"))
	g.req("type", "program.args entry a number", wrongType(a+"[0]"), set(a, []any{1}))
	g.req("type", "program.args entry an object", wrongType(a+"[1]"), set(a, []any{"--x", obj{"y": 1}}))
	manyArgs := make([]any, 1025)
	for i := range manyArgs {
		manyArgs[i] = "-a"
	}
	g.req("length", "program.args 1025 entries", invalid(a), set(a, manyArgs))
	g.req("length", "program.args entry larger than 64 KiB", invalid(a+"[0]"), set(a, []any{strings.Repeat("x", 64<<10+1)}))
	g.req("control-chars", "program.args entry with an escaped NUL", invalid(a+"[1]"), set(a, []any{"--input", "/tmp/in\x00--output=/etc"}))
	g.req("control-chars", "program.args entry with an escaped ESC", invalid(a+"[0]"), set(a, []any{"\x1b]0;pwned\x07"}))
	g.req("control-chars", "program.args entry with DEL", invalid(a+"[0]"), set(a, []any{"--x\x7f"}))
	g.req("control-chars", "program.args entry with a C1 control", invalid(a+"[0]"), set(a, []any{"--x\u009b31m"}))
	g.req("control-chars", "program.args entry with a vertical tab", invalid(a+"[2]"), set(a, []any{"--a", "b", "c\vd"}))

	const id = "program.flink_job_id"
	g.req("pattern", "program.flink_job_id upper case", invalid(id), set(id, strings.Repeat("A", 32)))
	g.req("pattern", "program.flink_job_id 31 characters", invalid(id), set(id, strings.Repeat("a", 31)))
	g.req("pattern", "program.flink_job_id not hex", invalid(id), set(id, strings.Repeat("z", 32)))
	g.req("type", "program.flink_job_id a number", wrongType(id), set(id, 12345))

	const sp = "program.savepoint"
	spp := sp + ".path"
	g.req("type", "program.savepoint a string", wrongType(sp), set(sp, "s3://bucket/sp"))
	g.req("required", "program.savepoint.path missing", invalid(spp), set(sp, obj{"restore_mode": "CLAIM"}))
	g.req("pattern", "program.savepoint.path without a scheme", invalid(spp), set(spp, "/tmp/savepoints/sp-1"))
	g.req("pattern", "program.savepoint.path scheme only", invalid(spp), set(spp, "s3:"))
	g.req("length", "program.savepoint.path 4097 characters", invalid(spp), set(spp, "s3://b/"+strings.Repeat("p", 4090)))
	g.req("control-chars", "program.savepoint.path with an escaped newline", invalid(spp), set(spp, "s3://bucket/sp\nexecution.target: remote"))
	g.req("control-chars", "program.savepoint.path with an escaped NUL", invalid(spp), set(spp, "file:///mnt/sp\x00/../../etc"))
	g.req("control-chars", "program.savepoint.path with an escaped ESC", invalid(spp), set(spp, "s3://bucket/\x1b[2Jsp"))
	g.req("control-chars", "program.savepoint.path with U+2029", invalid(spp), set(spp, "s3://bucket/sp\u2029x"))
	g.req("control-chars", "program.savepoint.path with a carriage return", invalid(spp), set(spp, "s3://bucket/sp\rx"))
	g.req("pattern", "program.savepoint.restore_mode lower case", invalid(sp+".restore_mode"), set(spp, "s3://bucket/sp"), set(sp+".restore_mode", "claim"))
	g.req("mode", "program.savepoint.restore_mode LEGACY on Flink 2.0", invalid(sp+".restore_mode"),
		set("flink.version", "2.0"), set(spp, "s3://bucket/sp"), set(sp+".restore_mode", "LEGACY"))
	g.req("type", "program.savepoint.allow_non_restored_state a string", wrongType(sp+".allow_non_restored_state"),
		set(spp, "s3://bucket/sp"), set(sp+".allow_non_restored_state", "yes"))
}

func (g *gen) artifactCases() {
	const u = "program.jar.url"
	g.req("pattern", "jar url file:///etc/passwd", invalid(u), set(u, "file:///etc/passwd"))
	g.req("pattern", "jar url ftp", invalid(u), set(u, "ftp://127.0.0.1/wordcount.jar"))
	g.req("pattern", "jar url gopher", invalid(u), set(u, "gopher://127.0.0.1:6379/_FLUSHALL"))
	g.req("pattern", "jar url javascript", invalid(u), set(u, "javascript:alert(1)"))
	g.req("pattern", "jar url relative", invalid(u), set(u, "/jars/wordcount.jar"))
	g.req("pattern", "jar url without a host", invalid(u), set(u, "http:///jars/wordcount.jar"))
	g.req("control-chars", "jar url with an escaped NUL", invalid(u), set(u, devJarURL+"\x00.txt"))
	g.req("control-chars", "jar url with an escaped newline (header injection)", invalid(u), set(u, devJarURL+"\r\nX-Injected: 1"))
	g.req("length", "jar url 2049 characters", invalid(u), set(u, devJarURL+"?"+strings.Repeat("q", 2049-len(devJarURL)-1)))
	g.req("type", "jar url a number", wrongType(u), set(u, 80))
	creds := func(name, url string, secrets ...string) {
		e := invalid(u)
		e.Absent = secrets
		g.req("artifact-url", name, e, set(u, url))
	}
	creds("jar url with credentials", "http://admin:hunter2-s3cr3t@127.0.0.1:8989/jars/wordcount.jar", "hunter2-s3cr3t")
	creds("jar url with a token as user", "https://ghp_t0ken1234567890abcdef@github.com/org/repo/raw/main/job.jar", "ghp_t0ken1234567890abcdef")
	creds("jar url: allowed host as user info, metadata host", devArtifacts+"@169.254.169.254/latest/meta-data/")

	notAllowed := func(name, url, host string) {
		g.req("artifact-host", name, buildFailedText(rHostNotAllow, fmt.Sprintf("artifact host %q", host)), set(u, url))
	}
	notAllowed("jar url cloud metadata 169.254.169.254", "http://169.254.169.254/latest/meta-data/iam/security-credentials/", "169.254.169.254")
	notAllowed("jar url cloud metadata, https", "https://169.254.169.254/latest/api/token", "169.254.169.254")
	notAllowed("jar url GCE metadata name", "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token", "metadata.google.internal")
	notAllowed("jar url EC2 IPv6 metadata", "http://[fd00:ec2::254]/latest/meta-data/", "[fd00:ec2::254]")
	notAllowed("jar url metadata as decimal IP", "http://2852039166/latest/meta-data/", "2852039166")
	notAllowed("jar url metadata IPv4-mapped IPv6", "http://[::ffff:169.254.169.254]/latest/meta-data/", "[::ffff:169.254.169.254]")
	notAllowed("jar url allowed host, other port (Redis)", "http://127.0.0.1:6379/jars/wordcount.jar", "127.0.0.1:6379")
	notAllowed("jar url localhost", "http://localhost:8989/jars/wordcount.jar", "localhost:8989")
	notAllowed("jar url fragment hiding the host", "http://169.254.169.254#@127.0.0.1:8989/jars/wordcount.jar", "169.254.169.254")
	notAllowed("jar url kubernetes API", "https://kubernetes.default.svc/api/v1/namespaces/kube-system/secrets", "kubernetes.default.svc")
	notAllowed("jar url upper-case scheme, metadata host", "HTTP://169.254.169.254/latest/meta-data/", "169.254.169.254")

	g.req("artifact", "jar url path traversal on the artifact server", buildFailedText(rNotFound, "not found"),
		set(u, devJarURL+"/../../../../../../etc/passwd"))
	g.req("artifact", "jar url encoded path traversal on the artifact server", buildFailedText(rNotFound, "not found"),
		set(u, devArtifacts+"/jars/..%2f..%2f..%2f..%2fetc%2fpasswd"))
	g.req("artifact", "jar sha256 of another jar", buildFailedText(rChecksum, "the request expects"),
		set("program.jar.sha256", strings.Repeat("0", 64)))
	const sha = "program.jar.sha256"
	g.req("pattern", "jar sha256 upper case", invalid(sha), set(sha, strings.Repeat("A", 64)))
	g.req("pattern", "jar sha256 too short", invalid(sha), set(sha, "abc"))

	const mv = "program.jar.maven"
	maven := func(class, name string, e Expect, coord string) {
		g.req(class, name, e, del(u), set(mv, coord))
	}
	maven("pattern", "jar maven two parts", invalid(mv), "org.example:job")
	maven("pattern", "jar maven with a slash", invalid(mv), "org.example:job/../../x:1.0")
	maven("length", "jar maven 513 characters", invalid(mv), "g:a:"+strings.Repeat("1", 509))
	maven("artifact", "jar maven path traversal", buildFailedText(rBadMavenCoord, "invalid part"), "org.example:..:1.0")
	maven("artifact-host", "jar maven from a repository not allowed", buildFailedText(rHostNotAllow, "repo1.maven.org"), "org.example:job:1.0")
}

func (g *gen) labelCases() {
	const l = "labels"
	g.req("type", "labels an array", wrongType(l), set(l, []any{"team=a"}))
	g.req("type", "labels a string", wrongType(l), set(l, "team=a"))
	g.req("type", "labels value a number", wrongType("labels[team]"), set(l, obj{"team": 1}))
	g.req("type", "labels value an object", wrongType("labels[team]"), set(l, obj{"team": obj{"a": "b"}}))
	many := obj{}
	for i := range 33 {
		many[fmt.Sprintf("label-%02d", i)] = "v"
	}
	g.req("length", "labels 33 entries", invalid(l), set(l, many))
	for _, k := range []string{"app", "component", "type", "configmap-type", "app.kubernetes.io/managed-by"} {
		g.req("reserved-keys", "labels reserved key "+k, invalid("labels["+k+"]"), set(l, obj{k: "flinkferry"}))
	}
	bad := func(class, name, key, value string) {
		g.req(class, name, invalid("labels["+key+"]"), set(l, obj{key: value}))
	}
	bad("pattern", "labels key with a blank", "team name", "a")
	bad("pattern", "labels key bad prefix", "Example.com/team", "a")
	bad("pattern", "labels key two slashes", "a/b/c", "a")
	bad("length", "labels key name 64 characters", strings.Repeat("k", 64), "a")
	bad("length", "labels value 64 characters", "team", strings.Repeat("v", 64))
	bad("pattern", "labels value with a blank", "team", "a b")
	bad("pattern", "labels value with a newline", "team", "a\nb")
	bad("control-chars", "labels value with an escaped NUL", "team", "a\x00b")
	bad("control-chars", "labels key with an escaped NUL", "te\x00am", "a")
	bad("pattern", "labels empty key", "", "a")
}

// deepArrays is n nested JSON arrays.
func deepArrays(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }

// deepObjects is n nested JSON objects {"a":{"a":...}}.
func deepObjects(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }

func (g *gen) structuralCases() {
	const s = "structural"
	lit := func(name, value string, e Expect) {
		g.rawCase(s, name, e, func([]byte, int) []byte { return []byte(value) })
	}
	lit("empty record value", "", deadLetterText(rMalformed, "empty payload"))
	lit("blanks only", " \n\t\r ", deadLetterText(rMalformed, "empty payload"))
	lit("not JSON", "hello, flinkferry", deadLetterText(rMalformed, "invalid JSON"))
	lit("YAML instead of JSON", "request_id: y-1\nmode: application\n", deadLetterText(rMalformed, "invalid JSON"))
	lit("JSON null", "null", deadLetterText(rMalformed, "must be a JSON object, got null"))
	lit("JSON string", `"request"`, deadLetterText(rMalformed, "must be a JSON object, got a string"))
	lit("JSON number", "42", deadLetterText(rMalformed, "must be a JSON object, got a number"))
	lit("JSON boolean", "true", deadLetterText(rMalformed, "must be a JSON object, got a boolean"))
	lit("lone opening brace", "{", deadLetterText(rMalformed, "unexpected end of input"))
	lit("NUL bytes only", "\x00\x00\x00\x00", deadLetterText(rMalformed, "invalid JSON"))
	g.rawCase(s, "JSON array of a request", deadLetterText(rMalformed, "must be a JSON object, got an array"),
		func(v []byte, _ int) []byte { return append(append([]byte("["), v...), ']') })
	g.rawCase(s, "truncated at half", deadLetterText(rMalformed, "invalid JSON"), func(v []byte, _ int) []byte { return v[:len(v)/2] })
	g.rawCase(s, "truncated before the last brace", deadLetterText(rMalformed, "unexpected end of input"), func(v []byte, _ int) []byte { return v[:len(v)-1] })
	g.rawCase(s, "truncated inside a string", deadLetterText(rMalformed, "invalid JSON"), func(v []byte, _ int) []byte {
		return v[:bytes.Index(v, []byte("wordcount.jar"))+4]
	})
	g.rawCase(s, "two requests in one record", deadLetterText(rMalformed, "after the JSON object"), func(v []byte, _ int) []byte { return append(append([]byte{}, v...), v...) })
	g.rawCase(s, "garbage after the object", deadLetterText(rMalformed, "after the JSON object"), func(v []byte, _ int) []byte { return append(append([]byte{}, v...), "garbage"...) })
	g.rawCase(s, "raw NUL after the object", deadLetterText(rMalformed, "after the JSON object"), func(v []byte, _ int) []byte { return append(append([]byte{}, v...), 0) })
	g.rawCase(s, "raw NUL before the object", deadLetterText(rMalformed, "invalid JSON"), func(v []byte, _ int) []byte { return append([]byte{0}, v...) })
	g.rawCase(s, "raw NUL inside request_id", deadLetterText(rMalformed, "invalid JSON"), func(v []byte, n int) []byte {
		return bytes.Replace(v, []byte(requestID(n)), []byte("hostile\x00"+strconv.Itoa(n)), 1)
	})
	g.rawCase(s, "raw newline inside a dynamic option", deadLetterText(rMalformed, "invalid JSON"), func(v []byte, _ int) []byte {
		return bytes.Replace(v, []byte(`"parallelism":1`), []byte("\"dynamic_options\":[\"-Dpipeline.name=a\nkubernetes.service-account: cluster-admin\"],\"parallelism\":1"), 1)
	})
	g.rawCase(s, "JavaScript comment", deadLetterText(rMalformed, "invalid JSON"), func(v []byte, _ int) []byte {
		return append([]byte("/* flinkferry */"), v...)
	})
	g.rawCase(s, "single quotes", deadLetterText(rMalformed, "invalid JSON"), func(v []byte, _ int) []byte {
		return bytes.ReplaceAll(v, []byte(`"`), []byte(`'`))
	})
	g.rawCase(s, "trailing comma", deadLetterText(rMalformed, "invalid JSON"), func(v []byte, _ int) []byte {
		return append(append([]byte{}, v[:len(v)-1]...), ",}"...)
	})
	g.rawCase(s, "NaN parallelism", deadLetterText(rMalformed, "invalid JSON"), func(v []byte, _ int) []byte {
		return bytes.Replace(v, []byte(`"parallelism":1`), []byte(`"parallelism":NaN`), 1)
	})
	g.rawCase(s, "leading zero parallelism", deadLetterText(rMalformed, "invalid JSON"), func(v []byte, _ int) []byte {
		return bytes.Replace(v, []byte(`"parallelism":1`), []byte(`"parallelism":01`), 1)
	})
	g.rawCase(s, "UTF-8 byte order mark", deadLetterText(rMalformed, "invalid JSON"), func(v []byte, _ int) []byte {
		return append([]byte("\xef\xbb\xbf"), v...)
	})

	dup := func(name, field, from, to string) {
		g.rawCase(s, name, deadLetter(rMalformed, field), func(v []byte, n int) []byte {
			from, to := strings.ReplaceAll(from, "%n", strconv.Itoa(n)), strings.ReplaceAll(to, "%n", strconv.Itoa(n))
			if !bytes.Contains(v, []byte(from)) {
				panic(name + ": no " + from)
			}
			return bytes.Replace(v, []byte(from), []byte(to), 1)
		})
	}
	dup("duplicate request_id", "request_id", `"request_id":"hostile-%n"`, `"request_id":"hostile-%n","request_id":"other-%n"`)
	dup("duplicate job.namespace (kube-system last)", "job.namespace", `"namespace":"flink-jobs"`, `"namespace":"flink-jobs","namespace":"kube-system"`)
	dup("duplicate job (second names another cluster)", "job", `"mode":`, `"job":{"namespace":"flink-jobs","cluster_id":"victim"},"mode":`)
	dup("duplicate mode", "mode", `"mode":"application"`, `"mode":"application","mode":"session-cluster"`)
	dup("duplicate program.jar.url", "program.jar.url", `"url":"`+devJarURL+`"`, `"url":"`+devJarURL+`","url":"http://169.254.169.254/latest/meta-data/"`)
	dup("duplicate flink.parallelism", "flink.parallelism", `"parallelism":1`, `"parallelism":1,"parallelism":100000`)

	g.rawCase("unknown-field", "unknown top-level field namespace", deadLetter(rUnknownField, "namespace"), func(v []byte, _ int) []byte {
		return append(append([]byte{}, v[:len(v)-1]...), `,"namespace":"kube-system"}`...)
	})
	g.rawCase("unknown-field", "field differing only in case (REQUEST_ID)", deadLetter(rUnknownField, "REQUEST_ID"), func(v []byte, _ int) []byte {
		return append(append([]byte{}, v[:len(v)-1]...), `,"REQUEST_ID":"other"}`...)
	})
	g.rawCase("unknown-field", "unknown field __proto__", deadLetter(rUnknownField, "__proto__"), func(v []byte, _ int) []byte {
		return append(append([]byte{}, v[:len(v)-1]...), `,"__proto__":{"admin":true}}`...)
	})
	g.rawCase("unknown-field", "unknown field with a 10000-character name", deadLetterText(rUnknownField, "unknown field"), func(v []byte, _ int) []byte {
		return append(append([]byte{}, v[:len(v)-1]...), `,"`+strings.Repeat("f", 10_000)+`":1}`...)
	})

	deep := func(name, where, value string) {
		g.rawCase("resource-exhaustion", name, deadLetterText(rMalformed, "nested deeper than"), func(v []byte, _ int) []byte {
			if !bytes.Contains(v, []byte(where)) {
				panic(name + ": no " + where)
			}
			return bytes.Replace(v, []byte(where), []byte(where+value+","), 1)
		})
	}
	deep("program.args nested 100000 arrays deep", `"program":{`, `"args":`+deepArrays(100_000))
	deep("labels nested 10000 objects deep", `{`, `"labels":`+deepObjects(10_000))
	deep("unknown field nested 65 arrays deep", `{`, `"x":`+deepArrays(65))

	g.rawCase("resource-exhaustion", "payload of 950000 bytes (a huge program argument)", deadLetterText(rTooLarge, "the limit is 900000"), func(_ []byte, n int) []byte {
		o := baseRequest(n)
		set("program.args", []any{strings.Repeat("A", 950_000)})(o)
		return marshal(o)
	})
	g.rawCase("resource-exhaustion", "payload of 900001 bytes (trailing blanks)", deadLetterText(rTooLarge, "the limit is 900000"), func(v []byte, _ int) []byte {
		return append(append([]byte{}, v...), bytes.Repeat([]byte(" "), 900_001-len(v))...)
	})
}

// utf8Cases put bytes that are not UTF-8 in a request. RFC 8259 (8.1):
// JSON exchanged between systems must be UTF-8; a record that is not is
// not JSON, whatever field the bytes are in, and must not reach Flink with
// its bytes silently replaced.
func (g *gen) utf8Cases() {
	const c = "invalid-utf8"
	e := deadLetterText(rMalformed, "UTF-8")
	g.withPlaceholder(c, "invalid UTF-8 in request_id", e, "hostile-\xff", set("request_id", placeholder))
	g.withPlaceholder(c, "invalid UTF-8 in program.args", e, "--input=\xff\xfe/etc", set("program.args", []any{placeholder}))
	g.withPlaceholder(c, "overlong UTF-8 slash in program.args", e, "--input=..\xc0\xaf..\xc0\xafetc", set("program.args", []any{placeholder}))
	g.withPlaceholder(c, "invalid UTF-8 in a dynamic option value", e, "-Dpipeline.name=job\xc3\x28", set("flink.dynamic_options", []any{placeholder}))
	g.withPlaceholder(c, "UTF-8 encoded surrogate in program.savepoint.path", e, "s3://bucket/\xed\xa0\x80sp", set("program.savepoint", obj{"path": placeholder}))
	g.withPlaceholder(c, "invalid UTF-8 in a pod template comment", e, "\xff\xfe", set("kubernetes.pod_template", podTemplate("")+"# "+placeholder))
	g.withPlaceholder(c, "invalid UTF-8 in a label value", e, "team-\x80", set("labels", obj{"team": placeholder}))
	g.withPlaceholder(c, "invalid UTF-8 in program.main_class", e, "com.example.Main\xff", set("program.main_class", placeholder))
	g.withPlaceholder(c, "Latin-1 in job.namespace", e, "flink-jobs-\xe9", set("job.namespace", placeholder))
	g.withPlaceholder(c, "invalid UTF-8 in a field name", e, "\xff", set("flink.jobmanager."+placeholder, "x"))
	// Outside strings the bytes are a plain syntax error.
	g.rawCase(c, "invalid UTF-8 between tokens", deadLetterText(rMalformed, "invalid JSON"), func(v []byte, _ int) []byte {
		return bytes.Replace(v, []byte(`,"mode"`), []byte(",\xff\"mode\""), 1)
	})
	g.rawCase(c, "UTF-16 with a byte order mark", deadLetterText(rMalformed, "invalid JSON"), func(v []byte, _ int) []byte {
		out := []byte{0xff, 0xfe}
		for _, b := range v {
			out = append(out, b, 0)
		}
		return out
	})
}

func (g *gen) headerCases() {
	g.headerCase("ce_specversion 0.3", deadLetterText(rSpecVersion, "ce_specversion"),
		map[string]string{"ce_specversion": "0.3", "ce_id": "h", "ce_source": "hostile", "ce_type": "io.flinkferry.submit.requested.v1"})
	g.headerCase("ce_specversion without ce_id and ce_source", deadLetterText(rInvalidCE, "invalid CloudEvents headers"),
		map[string]string{"ce_specversion": "1.0", "ce_type": "io.flinkferry.submit.requested.v1"})
	g.headerCase("ce_time not a time", deadLetterText(rInvalidCE, "ce_time"),
		map[string]string{"ce_time": "yesterday; DROP TABLE jobs"})
	g.headerCase("ce_type unknown", deadLetterText(rUnknownType, `"io.evil.exec.v1"`),
		map[string]string{"ce_type": "io.evil.exec.v1"})
	g.headerCase("content-type text/plain", deadLetterText(rContentType, `content-type "text/plain"`),
		map[string]string{"content-type": "text/plain"})
	g.headerCase("content-type JSON in Latin-1", deadLetterText(rContentType, "only UTF-8"),
		map[string]string{"content-type": "application/json; charset=iso-8859-1"})
	g.headerCase("content-type structured CloudEvents", deadLetterText(rContentType, "application/cloudevents+json"),
		map[string]string{"content-type": "application/cloudevents+json"})
	g.headerCase("content-type unparsable", deadLetterText(rContentType, "content-type"),
		map[string]string{"content-type": ";;;"})
}
