package alert

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// namePattern is what channel and rule names look like.
var namePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9_.-]{0,62})$`)

// walker decodes the generic JSON tree, collecting problems with paths.
type walker struct{ problems []string }

func (w *walker) addf(path, format string, args ...any) {
	w.problems = append(w.problems, path+": "+fmt.Sprintf(format, args...))
}

func (w *walker) err() error {
	if len(w.problems) == 0 {
		return nil
	}
	return &RulesError{Problems: w.problems}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// object returns v as an object, reporting keys not in allowed.
func (w *walker) object(path string, v any, allowed ...string) map[string]any {
	if path == "" && v == nil {
		w.addf("(file)", "empty: want channels and rules")
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		w.addf(orRoot(path), "must be a mapping, got %s", kind(v))
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			w.addf(join(path, k), "unknown field (known: %s)", strings.Join(allowed, ", "))
		}
	}
	return m
}

func orRoot(path string) string {
	if path == "" {
		return "(file)"
	}
	return path
}

func (w *walker) list(path string, v any, required bool) []any {
	if v == nil {
		if required {
			w.addf(path, "required")
		}
		return nil
	}
	l, ok := v.([]any)
	if !ok {
		w.addf(path, "must be a list, got %s", kind(v))
		return nil
	}
	if required && len(l) == 0 {
		w.addf(path, "must not be empty")
	}
	return l
}

func (w *walker) str(path string, v any, required bool) string {
	if v == nil {
		if required {
			w.addf(path, "required")
		}
		return ""
	}
	s, ok := v.(string)
	if !ok {
		w.addf(path, "must be a string, got %s", kind(v))
		return ""
	}
	if required && s == "" {
		w.addf(path, "must not be empty")
	}
	return s
}

func (w *walker) strList(path string, v any) []string {
	var out []string
	for i, e := range w.list(path, v, false) {
		out = append(out, w.str(fmt.Sprintf("%s[%d]", path, i), e, true))
	}
	return out
}

func (w *walker) strMap(path string, v any) map[string]string {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		w.addf(path, "must be a mapping, got %s", kind(v))
		return nil
	}
	out := make(map[string]string, len(m))
	for k, e := range m {
		out[k] = w.str(join(path, k), e, false)
	}
	return out
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, json.Number:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}

func (w *walker) name(path string, v any) string {
	n := w.str(path, v, true)
	if n != "" && !namePattern.MatchString(n) {
		w.addf(path, "must be 1 to 63 of a-z, 0-9, '.', '_', '-' starting with a letter or digit, got %q", clip(n))
	}
	return n
}

// clip bounds a user-written value quoted in an error.
func clip(s string) string { return truncate(s, 64) }
