package submit

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/messages"
)

// readFlinkConf reads a configuration file back as Flink's
// GlobalConfiguration loads it. flink-conf.yaml: line by line (Java's
// readLine: \n, \r or \r\n), everything from the first '#' dropped, the
// line trimmed, split on the first ": ", key and value trimmed, lines
// without a key or value skipped; every value a string. config.yaml: a
// YAML document whose nested maps are flattened into dotted keys.
func readFlinkConf(t *testing.T, name, content string) map[string]any {
	t.Helper()
	conf := map[string]any{}
	switch name {
	case "flink-conf.yaml":
		lines := strings.Split(strings.ReplaceAll(strings.ReplaceAll(content, "\r\n", "\n"), "\r", "\n"), "\n")
		for _, line := range lines {
			line, _, _ = strings.Cut(line, "#")
			line = javaTrim(line)
			k, v, ok := strings.Cut(line, ": ")
			if k, v = javaTrim(k), javaTrim(v); !ok || k == "" || v == "" {
				continue
			}
			conf[k] = v
		}
	case "config.yaml":
		var doc map[string]any
		if err := yaml.Unmarshal([]byte(content), &doc); err != nil {
			t.Fatalf("config.yaml is not YAML: %v\n%s", err, content)
		}
		flatten(conf, "", doc)
	default:
		t.Fatalf("unknown configuration file %q", name)
	}
	return conf
}

func flatten(out map[string]any, prefix string, m map[string]any) {
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			flatten(out, prefix+k+".", sub)
			continue
		}
		out[prefix+k] = v
	}
}

// javaTrim is Java's String.trim: chars up to U+0020 off both ends.
func javaTrim(s string) string { return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' }) }

// readList reads list option key as Flink's Configuration does: a YAML list
// as it is, a string with the structured-options splitter.
func readList(conf map[string]any, key string) ([]string, error) {
	switch v := conf[key].(type) {
	case []any:
		out := make([]string, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("element %d of %s is a %T, not a string", i, key, e)
			}
			out[i] = s
		}
		return out, nil
	case string:
		return splitFlink(v, ';')
	default:
		return nil, fmt.Errorf("%s is a %T", key, v)
	}
}

// readMap reads map option key as Flink's Configuration does: a YAML map,
// a string in the "k:v,k2:v2" syntax, or keys "<key>.<k>".
func readMap(conf map[string]any, key string) (map[string]string, error) {
	if s, ok := conf[key].(string); ok {
		return parseFlinkMap(s)
	}
	out := map[string]string{}
	for k, v := range conf {
		if sub, ok := strings.CutPrefix(k, key+"."); ok {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("%s is a %T, not a string", k, v)
			}
			out[sub] = s
		}
	}
	return out, nil
}

// checkQuotedBlocks checks that every list element and map entry of a
// config.yaml is double-quoted: then no YAML parser (Flink's is SnakeYAML,
// YAML 1.1; the test reads with go-yaml) reads it as anything but a string.
func checkQuotedBlocks(t *testing.T, content string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSuffix(content, "\n"), "\n") {
		if !strings.HasPrefix(line, "  ") {
			continue // a top-level key
		}
		item := strings.TrimPrefix(line, "  ")
		if !(strings.HasPrefix(item, `- "`) || strings.HasPrefix(item, `"`)) || !strings.HasSuffix(item, `"`) {
			t.Errorf("unquoted element in config.yaml: %q", line)
		}
	}
}

// hostileArgs are program arguments that a ';'-join, an unquoted element
// or a careless YAML writer would change.
var hostileArgs = []string{
	"--input", "s3://in",
	"a;b", ";", ";;", "a;",
	"it's", "''", "'", `say "hi"`, `"`, `a;'b';"c"`,
	"a,b", "k:v", "k1:v1,k2:v2",
	"line1\nline2", "cr\rlf", "tab\there", "\tleading tab", "trailing tab\t",
	" leading space", "trailing space ", " ", "",
	"\u2003em spaces\u2003", "\u00a0no-break\u00a0",
	"ünïcödé 日本語 🚀", "# not a comment", "x #y", "--sql=SELECT * FROM t WHERE a = 'x'; DROP",
	// Plain, YAML 1.1 (Flink's SnakeYAML) would read these as no string.
	"true", "yes", "on", "Off", "y", "null", "~", "0x1F", "012", "1_000", "1:20", "1e3", ".inf",
	"2001-12-14", "2001-12-14 21:59:43.10 -5", "<<", "=", "!", "&", "*",
	"- dash", "[a, b]", "{k: v}", "&anchor", "*alias", "!tag", "%", "@", "`", "key: value",
	"\ufeffbom", "\ufffe", "\u2028ls", "\u0085nel", "\\back\\slash\\",
}

// legacyUnrepresentable reports whether flink-conf.yaml cannot carry s.
func legacyUnrepresentable(s string) bool { return strings.ContainsAny(s, "#\n\r") }

func TestProgramArgsRoundTrip(t *testing.T) {
	lists := map[string][]string{"all": hostileArgs}
	for i, a := range hostileArgs {
		lists[fmt.Sprintf("%02d-alone", i)] = []string{a}
		lists[fmt.Sprintf("%02d-edges", i)] = []string{a, "mid", a}
	}
	lists["empty first and last"] = []string{"", "x", ""}
	lists["only empties"] = []string{"", "", ""}
	for _, version := range []string{"1.18", "1.20", "2.0"} {
		for _, name := range slices.Sorted(maps.Keys(lists)) {
			args := lists[name]
			t.Run(version+"/"+name, func(t *testing.T) {
				ev := imageBuilt(messages.ModeApplication, func(r *messages.SubmitRequested) {
					r.Flink.Version = version
					r.Program.Args = args
				})
				file, content, err := EffectiveConf(ev, "wordcount.jar", nil).ConfigFile(version)
				if legacyConfig(version) && slices.ContainsFunc(args, legacyUnrepresentable) {
					if err == nil || failure.Reason(err) != messages.DeployReasonFlinkConfUnrepresentable {
						t.Fatalf("ConfigFile() error = %v, want a permanent %s error", err, messages.DeployReasonFlinkConfUnrepresentable)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if file == "config.yaml" {
					checkQuotedBlocks(t, content)
				}
				conf := readFlinkConf(t, file, content)
				got, err := readList(conf, "$internal.application.program-args")
				if err != nil {
					t.Fatalf("Flink cannot read the arguments: %v\n%s", err, content)
				}
				if diff := cmp.Diff(args, got); diff != "" {
					t.Errorf("arguments changed on the way through %s (-want +got):\n%s\n%s", file, diff, content)
				}
				jars, err := readList(conf, "pipeline.jars")
				if err != nil || !slices.Equal(jars, []string{"local:///opt/flink/usrlib/wordcount.jar"}) {
					t.Errorf("pipeline.jars = %q, %v", jars, err)
				}
				if got, want := conf["kubernetes.cluster-id"], "wordcount"; got != want {
					t.Errorf("kubernetes.cluster-id = %v, want %q: an argument leaked into the file", got, want)
				}
			})
		}
	}
}

func TestLabelsRoundTrip(t *testing.T) {
	labels := map[string]string{
		"team": "data", "app.kubernetes.io/name": "wordcount", "empty": "",
		"comma": "a,b", "colon": "a:b", "both": "k:v,k2:v2", "quote": "it's", "dq": `"x"`, " spaced ": " v ",
	}
	for _, version := range []string{"1.18", "1.20", "2.0"} {
		t.Run(version, func(t *testing.T) {
			conf := FlinkConf{"kubernetes.jobmanager.labels": flinkMap(labels), "kubernetes.cluster-id": "wc"}
			file, content, err := conf.ConfigFile(version)
			if err != nil {
				t.Fatal(err)
			}
			if file == "config.yaml" {
				checkQuotedBlocks(t, content)
			}
			got, err := readMap(readFlinkConf(t, file, content), "kubernetes.jobmanager.labels")
			if err != nil {
				t.Fatalf("Flink cannot read the labels: %v\n%s", err, content)
			}
			if diff := cmp.Diff(labels, got); diff != "" {
				t.Errorf("labels changed on the way through %s (-want +got):\n%s\n%s", file, diff, content)
			}
		})
	}
}

// TestFlinkSyntaxMatchesFlink pins quoteFlink, flinkList, flinkMap and
// splitFlink to the examples of Flink's own Javadoc and tests
// (StructuredOptionsSplitter, ConfigurationUtilsTest).
func TestFlinkSyntaxMatchesFlink(t *testing.T) {
	quotes := []struct{ in, delims, want string }{
		{"A,B,C,D", ";", "A,B,C,D"},
		{"A'B'C'D", ";", "'A''B''C''D'"},
		{"A;BCD", ";", "'A;BCD'"},
		{`AB"C"D`, ";", `'AB"C"D'`},
		{`AB'"D:B`, ";", `'AB''"D:B'`},
	}
	for _, tt := range quotes {
		if got := quoteFlink(tt.in, tt.delims); got != tt.want {
			t.Errorf("quoteFlink(%q, %q) = %q, want %q", tt.in, tt.delims, got, tt.want)
		}
	}
	if got, want := flinkList([]string{"Test;String", "0 ms", "42"}), "'Test;String';0 ms;42"; got != want {
		t.Errorf("flinkList = %q, want %q", got, want)
	}
	// Flink's test expects "'''A:,B'':''C:,D''',10:20" (HashMap order); flinkferry sorts keys.
	if got, want := flinkMap(map[string]string{"A:,B": "C:,D", "10": "20"}), "10:20,'''A:,B'':''C:,D'''"; got != want {
		t.Errorf("flinkMap = %q, want %q", got, want)
	}
	splits := []struct {
		in   string
		want []string // nil with err
		err  bool
	}{
		{"'A;B';C", []string{"A;B", "C"}, false},
		{`"AB'D";B;C`, []string{"AB'D", "B", "C"}, false},
		{`"AB'""D;B";C`, []string{`AB'"D;B`, "C"}, false},
		{"A;B;C", []string{"A", "B", "C"}, false},
		{"  A ;  B ;C  ", []string{"A", "B", "C"}, false},
		{"A;;B", []string{"A", "", "B"}, false},
		{";A", []string{"A"}, false},
		{"A;", []string{"A"}, false},
		{"", nil, false},
		{"'';''", []string{"", ""}, false},
		{"'A' ;B", []string{"A", "B"}, false},
		{"'A' B", nil, true},
		{"A'B", nil, true},
		{"'A", nil, true},
		{`"A"'B'`, nil, true},
	}
	for _, tt := range splits {
		got, err := splitFlink(tt.in, ';')
		if (err != nil) != tt.err || !slices.Equal(got, tt.want) {
			t.Errorf("splitFlink(%q) = %q, %v; want %q (error %v)", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestLegacyConfigRefusesWhatItCannotCarry(t *testing.T) {
	tests := []struct {
		conf FlinkConf
		ok   bool
	}{
		{FlinkConf{"a": "b c", "d": "e:f"}, true},
		{FlinkConf{"s3.secret-key": "abc#def"}, false},
		{FlinkConf{"a": "x\nkubernetes.cluster-id: other"}, false},
		{FlinkConf{"a": "x\ry"}, false},
		{FlinkConf{"a#b": "x"}, false},
	}
	for _, tt := range tests {
		_, content, err := tt.conf.ConfigFile("1.18")
		if tt.ok != (err == nil) {
			t.Errorf("ConfigFile(%q) = %q, %v; want ok %v", tt.conf, content, err, tt.ok)
		}
		if err != nil && (failure.Reason(err) != messages.DeployReasonFlinkConfUnrepresentable || strings.Contains(err.Error(), "abc")) {
			t.Errorf("error %v: want reason %s, and no value in the text", err, messages.DeployReasonFlinkConfUnrepresentable)
		}
		// config.yaml carries all of them.
		file, content, err := tt.conf.ConfigFile("1.20")
		if err != nil {
			t.Fatal(err)
		}
		got := readFlinkConf(t, file, content)
		for k, v := range tt.conf {
			if got[k] != v {
				t.Errorf("config.yaml: %s = %q, want %q\n%s", k, got[k], v, content)
			}
		}
	}
}

// TestConfigYAMLStringsStayStrings checks string options whose plain YAML
// Flink's YAML 1.1 parser would not read as strings: each is quoted.
func TestConfigYAMLStringsStayStrings(t *testing.T) {
	conf := FlinkConf{}
	for i, a := range hostileArgs {
		conf[fmt.Sprintf("x.opt%02d", i)] = a
	}
	file, content, err := conf.ConfigFile("2.0")
	if err != nil {
		t.Fatal(err)
	}
	got := readFlinkConf(t, file, content)
	for k, v := range conf {
		if got[k] != v {
			t.Errorf("%s = %#v, want %q", k, got[k], v)
		}
	}
	for _, v := range []string{"2001-12-14", "2001-12-14 21:59:43.10 -5", "<<", "=", "yes", "~", "1:20"} {
		if !strings.Contains(content, `: "`+v+`"`) && !strings.Contains(content, `: '`+v+`'`) {
			t.Errorf("%q is not quoted in config.yaml:\n%s", v, content)
		}
	}
}

func TestLegacyConfigByVersion(t *testing.T) {
	for v, want := range map[string]bool{"1.17": true, "1.18": true, "1.18.1": true, "1.19": false, "1.20": false, "1.20.1": false, "2.0": false, "2.1": false} {
		if got := legacyConfig(v); got != want {
			t.Errorf("legacyConfig(%q) = %v, want %v", v, got, want)
		}
	}
}

// TestSessionArgsAreAJSONArray checks that session jobs need no quoting:
// the arguments go to Flink's REST API as the JSON array programArgsList.
func TestSessionArgsAreAJSONArray(t *testing.T) {
	ev := imageBuilt(messages.ModeSession, func(r *messages.SubmitRequested) {
		r.Program = &messages.Program{Jar: messages.Jar{URL: "https://artifacts.example.com/wc.jar"}, Args: hostileArgs}
	})
	body, err := json.Marshal(runRequest(ev, "c2ae241515ff374fd2a1a66cd7b7270e"))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		ProgramArgsList []string `json:"programArgsList"`
		ProgramArgs     *string  `json:"programArgs"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(hostileArgs, got.ProgramArgsList); diff != "" || got.ProgramArgs != nil {
		t.Errorf("programArgsList changed (-want +got):\n%s\nprogramArgs %v", diff, got.ProgramArgs)
	}
}

// TestHighAvailabilityConf: with Kubernetes HA on, Flink's client
// (KubernetesClusterDescriptor) sets high-availability.cluster-id to the
// cluster id, so each cluster's recovery data has its own path under the
// storage directory, and pins high-availability.jobmanager.port to the
// JobManager RPC port. Without the cluster id every job used
// <storageDir>/default, and one cluster shutting down deleted the others'.
func TestHighAvailabilityConf(t *testing.T) {
	for _, tt := range []struct {
		name     string
		opts     []string
		wantID   string
		wantPort string
	}{
		{"HA off", nil, "", ""},
		{"HA on", []string{"-Dhigh-availability.type=kubernetes", "-Dhigh-availability.storageDir=s3://ha"}, "wordcount", "6123"},
		{"legacy key", []string{"-Dhigh-availability=org.apache.flink.kubernetes.highavailability.KubernetesHaServicesFactory"}, "wordcount", "6123"},
		{"port range pinned", []string{"-Dhigh-availability.type=kubernetes", "-Dhigh-availability.jobmanager.port=50000-50100"}, "wordcount", "6123"},
		{"fixed port kept", []string{"-Dhigh-availability.type=kubernetes", "-Dhigh-availability.jobmanager.port=50010"}, "wordcount", "50010"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev := imageBuilt(messages.ModeApplication, func(r *messages.SubmitRequested) { r.Flink.DynamicOptions = tt.opts })
			c := EffectiveConf(ev, ev.JarName, nil)
			if got := c["high-availability.cluster-id"]; got != tt.wantID {
				t.Errorf("high-availability.cluster-id = %q, want %q", got, tt.wantID)
			}
			if got := c["high-availability.jobmanager.port"]; got != tt.wantPort {
				t.Errorf("high-availability.jobmanager.port = %q, want %q", got, tt.wantPort)
			}
		})
	}
}
