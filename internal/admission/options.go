package admission

import (
	"fmt"
	"strconv"
	"strings"
)

// option is one dynamic option with its field path.
type option struct {
	field, key, value string
}

// options are a request's dynamic options by key; for a key given more
// than once (refused by messages validation) the last one wins, as in
// Flink.
type options map[string]option

func parseOptions(dyn []string) options {
	m := make(options, len(dyn))
	for i, d := range dyn {
		rest, ok := strings.CutPrefix(d, "-D")
		if !ok {
			continue
		}
		k, v, ok := strings.Cut(rest, "=")
		if !ok {
			continue
		}
		m[strings.TrimSpace(k)] = option{field: "flink.dynamic_options[" + strconv.Itoa(i) + "]", key: k, value: strings.TrimSpace(v)}
	}
	return m
}

// get returns the option's value and whether it is set.
func (o options) get(key string) (option, bool) {
	v, ok := o[key]
	return v, ok
}

// mapValue parses Flink's map syntax "k1:v1,k2:v2" (kubernetes.*.annotations).
func mapValue(s string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, ":")
		if !ok {
			continue
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out
}

// ParseFlinkConf parses a worker's Flink configuration, "key=value"
// pairs (FLINKFERRY_SUBMIT_FLINK_CONF), for WithFlinkConf.
func ParseFlinkConf(kvs []string) (map[string]string, error) {
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("entry %q is not key=value", kv)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}
