package messages

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// validator collects FieldErrors.
type validator struct {
	errs FieldErrors
}

// Bounds of one FieldError: a request's own content (a key, a value) may
// appear in field paths and reasons, and reports end up in Kafka headers,
// dead-letter records and log lines.
const (
	maxFieldBytes  = 256
	maxReasonBytes = 512
)

// addf records a problem with field.
func (v *validator) addf(field, format string, args ...any) {
	v.errs = append(v.errs, FieldError{Field: truncate(field, maxFieldBytes), Reason: truncate(fmt.Sprintf(format, args...), maxReasonBytes)})
}

// truncate cuts s to at most n bytes at a rune boundary, ending in "…".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// maxQuoted bounds a request's own text quoted in a reason.
const maxQuoted = 64

// clip shortens a request's own text quoted in a reason.
func clip(s string) string { return truncate(s, maxQuoted) }

// addAll records one problem per message, as reported by the Kubernetes
// validation helpers.
func (v *validator) addAll(field string, msgs []string) {
	for _, m := range msgs {
		v.addf(field, "%s", m)
	}
}

// result returns nil or the sorted FieldErrors. It returns an untyped nil so
// that `err != nil` means there is a problem.
func (v *validator) result() error {
	if len(v.errs) == 0 {
		return nil
	}
	v.errs.sort()
	return v.errs
}

// at returns the path of the field name in the object at parent.
func at(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// index returns the path of element i of the list at parent.
func index(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

// key returns the path of the entry k of the map at parent.
func key(parent, k string) string {
	return parent + "[" + clip(k) + "]"
}

// isNil reports whether v is nil or a nil pointer inside an interface.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// oneLine collapses the whitespace of an error message from another
// library, so that each FieldError stays on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
