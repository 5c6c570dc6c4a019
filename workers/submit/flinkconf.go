package submit

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"sigs.k8s.io/yaml"

	"github.com/flinkferry/flinkferry/internal/failure"
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

// FlinkConf is a Flink configuration: flat keys to string values, as
// Flink's Configuration.toMap() shows it: a list option is its elements
// joined with ';' and a map option its "k:v" pairs joined with ',', each
// element quoted as Flink's own client quotes it (flinkList, flinkMap).
// ConfigFile writes the options of structuredOptions as YAML lists and maps
// in config.yaml, as Flink's client does.
type FlinkConf map[string]string

// optionKind is the type of a Flink option flinkferry writes: a string
// (the default), a list or a map.
type optionKind int

const (
	kindString optionKind = iota
	kindList
	kindMap
)

// structuredOptions are the list and map options flinkferry writes itself.
var structuredOptions = map[string]optionKind{
	"$internal.application.program-args": kindList,
	"pipeline.jars":                      kindList,
	"kubernetes.jobmanager.labels":       kindMap,
	"kubernetes.taskmanager.labels":      kindMap,
}

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
			c["$internal.application.program-args"] = flinkList(p.Args)
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
		c["pipeline.jars"] = flinkList([]string{usrlibJar(jarName)})
		c["$internal.pipeline.job-id"] = req.FlinkJobID()
		// Keep the JobManager after the job ends so its final state can be
		// read; the track worker removes the cluster afterwards.
		c["execution.shutdown-on-application-finish"] = "false"
		c["execution.submit-failed-job-on-application-error"] = "true"
	}
	if c.HighAvailability() {
		// As Flink's client (KubernetesClusterDescriptor): each cluster's
		// recovery data under its own <storageDir>/<cluster-id>, and the
		// JobManager's HA RPC port fixed (a range cannot be a container
		// port).
		c["high-availability.cluster-id"] = ev.Job.ClusterID
		if p, err := strconv.Atoi(strings.TrimSpace(c["high-availability.jobmanager.port"])); err != nil || p <= 0 {
			c["high-availability.jobmanager.port"] = c["jobmanager.rpc.port"]
		}
	} else {
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

// flinkList writes a list option as Flink's client writes it into
// flink-conf.yaml (ConfigurationUtils.convertToString): the elements
// joined with ';', each quoted by quoteFlink.
func flinkList(elems []string) string {
	quoted := make([]string, len(elems))
	for i, e := range elems {
		quoted[i] = quoteFlink(e, ";")
	}
	return strings.Join(quoted, ";")
}

// flinkMap writes a map option as Flink's client does, keys sorted: the
// pairs "k:v" joined with ',', where key and value are quoted for ':' and
// then the pair for ','.
func flinkMap(m map[string]string) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, quoteFlink(quoteFlink(k, ":")+":"+quoteFlink(m[k], ":"), ","))
	}
	return strings.Join(parts, ",")
}

// quoteFlink quotes s for Flink's structured-options splitter as Flink's
// StructuredOptionsSplitter.escapeWithSingleQuote does: when s holds a
// delimiter or a quote, it is wrapped in single quotes and its single
// quotes doubled. It also quotes what Flink's splitter would otherwise
// lose and Flink's own client does not guard: an empty element (dropped
// at either end of the list) and one that begins or ends with whitespace
// (trimmed). The splitter reads a quoted element verbatim, so the quoted
// form is never wrong.
func quoteFlink(s, delimiters string) string {
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	if s == "" || strings.ContainsAny(s, delimiters+`'"`) || javaBlank(first) || javaBlank(last) {
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	return s
}

// javaBlank reports whether Flink's splitter may skip or trim r at the
// edge of an unquoted element: Java's String.trim removes chars up to
// U+0020 and Character.isWhitespace holds for Unicode spaces (a superset
// here, which only quotes more).
func javaBlank(r rune) bool {
	return r <= ' ' || unicode.IsSpace(r)
}

// splitFlink splits s on delim as Flink's StructuredOptionsSplitter
// reads a list option: elements may be quoted with ' or " (a doubled quote
// inside stands for one), blanks between elements are skipped, unquoted
// elements are trimmed, an empty element counts only between two
// delimiters, and a quote inside an unquoted element or text after a
// closing quote is an error.
func splitFlink(s string, delim byte) ([]string, error) {
	type token struct {
		delim bool
		text  string
	}
	var tokens []token
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case s[i] == '\'' || s[i] == '"':
			q := s[i]
			var b strings.Builder
			j := i + 1
			for ; ; j++ {
				if j >= len(s) {
					return nil, errors.New("quoting was not closed")
				}
				if s[j] == q {
					if j+1 < len(s) && s[j+1] == q {
						b.WriteByte(q)
						j++
						continue
					}
					break
				}
				b.WriteByte(s[j])
			}
			tokens = append(tokens, token{text: b.String()})
			i = j + 1
			// Only blanks may separate a closing quote from the delimiter.
			for i < len(s) && s[i] != delim {
				r, size := utf8.DecodeRuneInString(s[i:])
				if !javaWhitespace(r) {
					return nil, fmt.Errorf("illegal quoting at position %d", i)
				}
				i += size
			}
		case s[i] == delim:
			tokens = append(tokens, token{delim: true})
			i++
		case javaWhitespace(r):
			i += size
		default:
			j := i
			for ; j < len(s) && s[j] != delim; j++ {
				if s[j] == '\'' || s[j] == '"' {
					return nil, fmt.Errorf("illegal quoting at position %d", j)
				}
			}
			tokens = append(tokens, token{text: strings.TrimFunc(s[i:j], func(r rune) bool { return r <= ' ' })})
			i = j
		}
	}
	var out []string
	for i, t := range tokens {
		switch {
		case !t.delim:
			out = append(out, t.text)
		case i+1 < len(tokens) && tokens[i+1].delim:
			out = append(out, "")
		}
	}
	return out, nil
}

// javaWhitespace is Java's Character.isWhitespace: Unicode space
// separators other than the no-break ones, line and paragraph separators,
// and \t \n \v \f \r and U+001C to U+001F.
func javaWhitespace(r rune) bool {
	switch r {
	case '\u00a0', '\u2007', '\u202f':
		return false
	case '\t', '\n', '\v', '\f', '\r', 0x1c, 0x1d, 0x1e, 0x1f:
		return true
	}
	return unicode.In(r, unicode.Zs, unicode.Zl, unicode.Zp)
}

// parseFlinkMap reads a map option as Flink does: pairs split on ',',
// each split on ':' into exactly a key and a value.
func parseFlinkMap(s string) (map[string]string, error) {
	pairs, err := splitFlink(s, ',')
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(pairs))
	for _, p := range pairs {
		kv, err := splitFlink(p, ':')
		if err != nil {
			return nil, err
		}
		if len(kv) != 2 {
			return nil, fmt.Errorf("pair %q is not key:value", p)
		}
		m[kv[0]] = kv[1]
	}
	return m, nil
}

// ConfigFile returns the configuration file name and content for a Flink
// version: flink-conf.yaml (flat "key: value" lines) before 1.19, the
// standard-YAML config.yaml from 1.19 on (Flink 2.x reads only that).
// Keys are sorted so the same configuration is always the same bytes.
//
// In flink-conf.yaml a value is the line's text after ": ", so list and
// map options keep Flink's quoted ';' and ',' syntax (flinkList, flinkMap);
// a key or value holding '#' (Flink drops the rest of the line as a
// comment) or a line break cannot be written and is a permanent error
// (reason flink_conf_unrepresentable) rather than a corrupted file. In
// config.yaml every value is a YAML string, except the options of
// structuredOptions, which are YAML lists and maps, as Flink's client
// writes them (Flink reads a list there as YAML, not with its ';'
// splitter), their elements always quoted (yamlValue).
func (c FlinkConf) ConfigFile(flinkVersion string) (string, string, error) {
	keys := slices.Sorted(maps.Keys(c))
	if legacyConfig(flinkVersion) {
		var b strings.Builder
		for _, k := range keys {
			if err := legacyWritable(k, c[k]); err != nil {
				return "", "", failure.Permanent(messages.DeployReasonFlinkConfUnrepresentable, err)
			}
			fmt.Fprintf(&b, "%s: %s\n", k, c[k])
		}
		return "flink-conf.yaml", b.String(), nil
	}
	var b strings.Builder
	for _, k := range keys {
		v, block := yamlValue(k, c[k])
		if block {
			fmt.Fprintf(&b, "%s:\n%s", yamlString(k), indent(v, "  "))
		} else {
			fmt.Fprintf(&b, "%s: %s", yamlString(k), v)
		}
	}
	return "config.yaml", b.String(), nil
}

// legacyWritable reports why a key and value cannot be a line of
// flink-conf.yaml: Flink's loader reads the file line by line and drops
// everything from the first '#' on.
func legacyWritable(k, v string) error {
	for _, s := range []string{k, v} {
		if i := strings.IndexAny(s, "#\n\r"); i >= 0 {
			what := "'#' (Flink reads the rest of the line as a comment)"
			if s[i] != '#' {
				what = "a line break"
			}
			return fmt.Errorf("flink-conf.yaml (Flink < 1.19) cannot carry %s in %s: use Flink 1.19 or later, whose config.yaml can", what, k)
		}
	}
	return nil
}

// yamlValue returns the YAML of option k's value v for config.yaml, and
// whether it is a block (a list or a map, written on the lines after the
// key); a string is yamlString's. List elements and map keys and values
// are always double-quoted (yamlQuote), so Flink's YAML 1.1 parser reads
// each as the string it is (plain "yes", "2001-12-14" or "~" would be a
// boolean, a date or null).
// A list or map option whose value does not parse with Flink's splitter is
// written as the string it is: Flink fails on it either way.
func yamlValue(k, v string) (string, bool) {
	var b strings.Builder
	switch structuredOptions[k] {
	case kindList:
		if l, err := splitFlink(v, ';'); err == nil && len(l) > 0 {
			for _, e := range l {
				b.WriteString("- " + yamlQuote(e) + "\n")
			}
			return b.String(), true
		}
	case kindMap:
		if m, err := parseFlinkMap(v); err == nil && len(m) > 0 {
			for _, mk := range slices.Sorted(maps.Keys(m)) {
				b.WriteString(yamlQuote(mk) + ": " + yamlQuote(m[mk]) + "\n")
			}
			return b.String(), true
		}
	}
	return yamlString(v) + "\n", false
}

// yamlString is go-yaml's form of a printable ASCII s, and yamlQuote's
// otherwise or where Flink's YAML 1.1 parser would not read go-yaml's form
// as s (yaml11Special): go-yaml writes NEL, LS and PS raw, which YAML 1.1
// reads as line breaks, and refuses U+FFFE.
func yamlString(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r > 0x7e }) >= 0 {
		return yamlQuote(s)
	}
	out, err := yaml.Marshal(s)
	if err != nil || yaml11Special(s) && !strings.HasPrefix(string(out), `"`) && !strings.HasPrefix(string(out), "'") {
		return yamlQuote(s)
	}
	return strings.TrimSuffix(string(out), "\n")
}

// yaml11Timestamp matches what YAML 1.1 resolves as a timestamp.
var yaml11Timestamp = regexp.MustCompile(`^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(([Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\.[0-9]*)?([ \t]*(Z|[-+][0-9]{1,2}(:[0-9]{2})?))?)?$`)

// yaml11Special reports whether Flink's YAML 1.1 parser (SnakeYAML) reads
// plain s as something other than a string where go-yaml writes it plain:
// a timestamp with a time, the merge key "<<" and the value key "=".
func yaml11Special(s string) bool {
	return s == "<<" || s == "=" || yaml11Timestamp.MatchString(s)
}

// yamlQuote writes s as a YAML double-quoted scalar that YAML 1.1 and 1.2
// parsers read back as s: quotes, backslashes, line breaks (including
// NEL, LS and PS, which YAML 1.1 folds) and every character outside
// YAML's printable set are escaped. Invalid UTF-8 becomes U+FFFD.
func yamlQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r >= 0x20 && r <= 0x7e, r >= 0xa0 && r <= 0xd7ff && r != 0x2028 && r != 0x2029,
			r >= 0xe000 && r <= 0xfffd && r != 0xfeff, r >= 0x10000 && r <= 0x10ffff:
			b.WriteRune(r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			fmt.Fprintf(&b, `\U%08X`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l != "" {
			b.WriteString(prefix + l)
		}
	}
	return b.String()
}

// legacyConfig reports whether a Flink version reads flink-conf.yaml only.
func legacyConfig(version string) bool {
	major, rest, _ := strings.Cut(version, ".")
	minor, _, _ := strings.Cut(rest, ".")
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
