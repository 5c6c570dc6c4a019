package hostile

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// The generator: every case starts from the valid request of
// examples/json/wordcount.json (its own request_id hostile-<n> and
// job.cluster_id h-<n>) and breaks one rule of the contract
// (messages/schema/io.flinkferry.submit.requested.v1.json and the Go
// validation behind it), of admission (internal/admission: the dev
// cluster allows namespace flink-jobs and service account default, Pod
// Security baseline) or of the build worker (allow-listed artifact hosts),
// or attacks the record itself. The expectations come from those rules,
// not from running the code.

// devJarURL is the example jar on dev's default artifact server; the test
// points it at the running dev's (see cli.DevArtifactsURL).
const devJarURL = devArtifacts + "/jars/wordcount.jar"

// devArtifacts is dev's artifact server on its default port.
const devArtifacts = "http://127.0.0.1:8989"

// devNamespace is the one namespace dev's admission policy allows
// (cmd/flinkferry/dev/workers.go); its one service account is "default".
const devNamespace = "flink-jobs"

// Reasons, as the contract names them (messages, internal/admission,
// messages.BuildReason*).
const (
	rMalformed     = "malformed_json"
	rWrongType     = "wrong_type"
	rUnknownField  = "unknown_field"
	rValidation    = "validation_failed"
	rTooLarge      = "payload_too_large"
	rSpecVersion   = "unsupported_specversion"
	rContentType   = "unsupported_content_type"
	rInvalidCE     = "invalid_cloudevent"
	rUnknownType   = "unknown_event_type"
	rNamespace     = "namespace_not_allowed"
	rSA            = "service_account_not_allowed"
	rKubeCluster   = "unknown_kube_cluster"
	rPodTemplate   = "invalid_pod_template"
	rPodSecurity   = "pod_security_violation"
	rHostNotAllow  = "artifact_host_not_allowed"
	rNotFound      = "artifact_not_found"
	rChecksum      = "checksum_mismatch"
	rBadMavenCoord = "bad_maven_coordinate"
)

// obj is a JSON object under construction.
type obj = map[string]any

// baseRequest is examples/json/wordcount.json with case n's identity.
func baseRequest(n int) obj {
	return obj{
		"request_id": requestID(n),
		"job":        obj{"namespace": devNamespace, "cluster_id": clusterID(n)},
		"mode":       "application",
		"flink": obj{
			"version":     "1.20",
			"parallelism": 1,
			"jobmanager":  obj{"memory": "1024m", "cpu": 0.5},
			"taskmanager": obj{"memory": "1024m", "cpu": 0.5, "slots": 1},
		},
		"program": obj{
			"jar":        obj{"url": devJarURL},
			"main_class": "org.apache.flink.examples.WordCount",
		},
	}
}

func requestID(n int) string { return "hostile-" + strconv.Itoa(n) }
func clusterID(n int) string { return "h-" + strconv.Itoa(n) }

// mutation changes a request under construction.
type mutation func(o obj)

// set sets the value at a dotted path, creating objects on the way.
func set(path string, v any) mutation {
	return func(o obj) {
		parts := strings.Split(path, ".")
		for _, p := range parts[:len(parts)-1] {
			next, ok := o[p].(obj)
			if !ok {
				next = obj{}
				o[p] = next
			}
			o = next
		}
		o[parts[len(parts)-1]] = v
	}
}

// del removes the value at a dotted path.
func del(path string) mutation {
	return func(o obj) {
		parts := strings.Split(path, ".")
		for _, p := range parts[:len(parts)-1] {
			next, ok := o[p].(obj)
			if !ok {
				return
			}
			o = next
		}
		delete(o, parts[len(parts)-1])
	}
}

// raw is a JSON value written as is (numbers Go cannot hold, ...).
func raw(s string) json.RawMessage { return json.RawMessage(s) }

// marshal encodes a request: keys sorted, HTML characters unescaped,
// control characters and U+2028/U+2029 escaped as \u00XX (JSON's own
// escapes), no trailing newline.
func marshal(o obj) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(o); err != nil {
		panic(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// Expectations.
func deadLetter(reason, field string) Expect {
	return Expect{Land: LandDeadLetter, Reason: reason, Field: field}
}

func deadLetterText(reason, text string) Expect {
	return Expect{Land: LandDeadLetter, Reason: reason, Text: text}
}

func buildFailed(reason, field string) Expect {
	return Expect{Land: LandBuildFailed, Reason: reason, Field: field}
}

// buildFailedText is a refusal by the build worker after admission
// (fetching the jar): its message names the artifact, not a field.
func buildFailedText(reason, text string) Expect {
	return Expect{Land: LandBuildFailed, Reason: reason, Text: text}
}

func invalid(field string) Expect   { return deadLetter(rValidation, field) }
func wrongType(field string) Expect { return deadLetter(rWrongType, field) }

// gen collects cases, numbering them from 1.
type gen struct{ cases []Case }

// next returns the number of the next case.
func (g *gen) next() int { return len(g.cases) + 1 }

// add appends a case whose value is v.
func (g *gen) add(class, name string, exp Expect, headers map[string]string, v []byte, hasRequestID bool) {
	n := g.next()
	c := Case{Name: name, Class: class, ClusterID: clusterID(n), Key: devNamespace + "/" + clusterID(n), Headers: headers, Expect: exp}
	if hasRequestID {
		c.RequestID = requestID(n)
	}
	c.setValue(v)
	g.cases = append(g.cases, c)
}

// req adds a case built from case n's valid request with the mutations
// applied.
func (g *gen) req(class, name string, exp Expect, ms ...mutation) {
	o := baseRequest(g.next())
	for _, m := range ms {
		m(o)
	}
	g.add(class, name, exp, nil, marshal(o), o["request_id"] == requestID(g.next()))
}

// rawCase adds a case whose value build makes from case n's valid request
// (marshalled) and n.
func (g *gen) rawCase(class, name string, exp Expect, build func(valid []byte, n int) []byte) {
	n := g.next()
	v := build(marshal(baseRequest(n)), n)
	g.add(class, name, exp, nil, v, bytes.Contains(v, []byte(`"request_id":"`+requestID(n)+`"`)))
}

// headerCase adds case n's valid request with headers.
func (g *gen) headerCase(name string, exp Expect, headers map[string]string) {
	n := g.next()
	g.add("headers", name, exp, headers, marshal(baseRequest(n)), true)
}

// placeholder marks where raw bytes replace a JSON string's content.
const placeholder = "@@HOSTILE@@"

// replaced returns valid with placeholder replaced by b.
func replaced(valid []byte, b string) []byte {
	if !bytes.Contains(valid, []byte(placeholder)) {
		panic("no placeholder in " + string(valid))
	}
	return bytes.Replace(valid, []byte(placeholder), []byte(b), 1)
}

// withPlaceholder adds a case: the request with mutations (one of them
// putting placeholder in a string), marshalled, then placeholder replaced
// by b, bytes JSON would escape or that are not UTF-8.
func (g *gen) withPlaceholder(class, name string, exp Expect, b string, ms ...mutation) {
	o := baseRequest(g.next())
	for _, m := range ms {
		m(o)
	}
	v := replaced(marshal(o), b)
	g.add(class, name, exp, nil, v, bytes.Contains(v, []byte(`"request_id":"`+requestID(g.next())+`"`)))
}

// generate returns the corpus.
func generate() []Case {
	g := &gen{}
	g.requestIDCases()
	g.jobCases()
	g.modeCases()
	g.kubernetesCases()
	g.podTemplateCases()
	g.flinkCases()
	g.dynamicOptionCases()
	g.programCases()
	g.artifactCases()
	g.labelCases()
	g.structuralCases()
	g.utf8Cases()
	g.headerCases()
	return g.cases
}
