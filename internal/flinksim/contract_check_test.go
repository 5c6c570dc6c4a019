package flinksim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// contract validates simulator answers against the spec.
type contract struct {
	spec    map[string]any
	paths   []string
	schemas map[string]*jsonschema.Schema // "METHOD path status" and "error"
}

// newContract compiles the spec with every deviation but skip applied.
func newContract(t testing.TB, raw []byte, skip string) *contract {
	t.Helper()
	var spec map[string]any
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	for _, d := range deviations {
		if d.name == skip {
			continue
		}
		if err := d.apply(spec); err != nil {
			t.Fatalf("deviation %s no longer applies: %v", d.name, err)
		}
	}
	ct := &contract{spec: spec, schemas: map[string]*jsonschema.Schema{}}
	extra := map[string]any{}
	keys := map[string]string{} // def name -> schema key
	forEachOperation(spec, func(p, m string, op map[string]any) {
		for status, r := range obj(op, "responses") {
			s := obj(obj(obj(r.(map[string]any), "content"), "application/json"), "schema")
			if s == nil {
				continue
			}
			def := fmt.Sprintf("response%d", len(extra))
			extra[def] = s
			keys[def] = m + " " + p + " " + status
		}
	})
	if componentSchemas(spec)["ErrorResponseBody"] != nil {
		extra["unrouted"] = map[string]any{"$ref": "#/components/schemas/ErrorResponseBody"}
		keys["unrouted"] = "error"
	}
	doc, err := newConverter(spec).document(extra)
	if err != nil {
		t.Fatalf("converting the spec: %v", err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	res, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	const url = "https://flinksim.invalid/flink-rest-api.json"
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(url, res); err != nil {
		t.Fatal(err)
	}
	for def, key := range keys {
		sch, err := c.Compile(url + "#/$defs/" + def)
		if err != nil {
			t.Fatalf("compiling %s: %v", key, err)
		}
		ct.schemas[key] = sch
	}
	for p := range obj(spec, "paths") {
		ct.paths = append(ct.paths, p)
	}
	sort.Strings(ct.paths)
	return ct
}

// specPath returns the spec path template matching a Flink path,
// preferring the template with the most literal segments.
func (ct *contract) specPath(p string) string {
	segs := strings.Split(strings.Trim(p, "/"), "/")
	best, bestLiterals := "", -1
	for _, tmpl := range ct.paths {
		ts := strings.Split(strings.Trim(tmpl, "/"), "/")
		if len(ts) != len(segs) {
			continue
		}
		literals := 0
		for i, s := range ts {
			if strings.HasPrefix(s, "{") {
				continue
			}
			if s != segs[i] {
				literals = -1
				break
			}
			literals++
		}
		if literals > bestLiterals {
			best, bestLiterals = tmpl, literals
		}
	}
	return best
}

// check validates one answer: a documented status against its schema, an
// error status against the operation's default response; a request the
// spec has no operation for must be a 404 or 405 error.
func (ct *contract) check(x exchange) (key string, err error) {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(x.body))
	if err != nil {
		return "", fmt.Errorf("body is not JSON: %w", err)
	}
	p := ct.specPath(x.path)
	op := obj(obj(obj(ct.spec, "paths"), p), strings.ToLower(x.method))
	switch {
	case op == nil && (x.status == http.StatusNotFound || x.status == http.StatusMethodNotAllowed):
		key = "error"
	case op == nil:
		return "", fmt.Errorf("no spec operation, yet status %d", x.status)
	case obj(obj(op, "responses"), strconv.Itoa(x.status)) != nil:
		key = x.method + " " + p + " " + strconv.Itoa(x.status)
	case x.status >= 400:
		key = x.method + " " + p + " default"
	default:
		return "", fmt.Errorf("status %d is not in the spec", x.status)
	}
	sch := ct.schemas[key]
	if sch == nil {
		return key, fmt.Errorf("spec has no JSON schema for %s", key)
	}
	if err := sch.Validate(inst); err != nil {
		return key, fmt.Errorf("%s: %v", key, err)
	}
	return key, nil
}
