package messages

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxJSONDepth bounds the nesting of a payload; the contract needs fewer
// than ten levels.
const maxJSONDepth = 64

var timeType = reflect.TypeFor[time.Time]()

// walker reads a JSON document token by token and compares it with a Go
// type, recording every field of the wrong JSON type, every unknown field
// (in strict mode) and every repeated field, with its JSON path.
type walker struct {
	dec       *json.Decoder
	strict    bool
	malformed FieldErrors
	unknown   FieldErrors
	wrong     FieldErrors
}

// typeOf returns the struct type behind a pointer.
func typeOf(v any) reflect.Type {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// value reads one value at path p, expected to fit t (nil: anything).
func (w *walker) value(t reflect.Type, p string, depth int) error {
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if tok == nil { // null leaves any field unset
		return nil
	}
	if d, ok := tok.(json.Delim); ok {
		if depth >= maxJSONDepth {
			return fmt.Errorf("JSON nested deeper than %d levels", maxJSONDepth)
		}
		if d == '{' {
			if t != nil && t != timeType && (t.Kind() == reflect.Struct || t.Kind() == reflect.Map || t.Kind() == reflect.Interface) {
				return w.object(t, p, depth+1)
			}
			w.mismatch(t, p, "an object")
			return w.object(nil, p, depth+1)
		}
		if t != nil && t.Kind() != reflect.Slice && t.Kind() != reflect.Array && t.Kind() != reflect.Interface {
			w.mismatch(t, p, "an array")
			t = nil
		}
		var elem reflect.Type
		if t != nil && t.Kind() != reflect.Interface {
			elem = t.Elem()
		}
		for i := 0; w.dec.More(); i++ {
			if err := w.value(elem, index(p, i), depth+1); err != nil {
				return err
			}
		}
		_, err := w.dec.Token() // ']'
		return err
	}
	if t == nil || t.Kind() == reflect.Interface {
		return nil
	}
	w.scalar(t, p, tok)
	return nil
}

// object reads the members of an object whose '{' was consumed.
func (w *walker) object(t reflect.Type, p string, depth int) error {
	var fields map[string]reflect.Type
	if t != nil && t.Kind() == reflect.Struct {
		fields = jsonFields(t)
	}
	seen := map[string]bool{}
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		fp := at(p, clip(name))
		var ft reflect.Type
		switch {
		case t == nil || t.Kind() == reflect.Interface:
		case t.Kind() == reflect.Map:
			fp = key(p, name)
			ft = t.Elem()
		default:
			var known bool
			ft, known = fields[name]
			if !known && w.strict {
				w.unknown = append(w.unknown, FieldError{Field: truncate(fp, maxFieldBytes), Reason: "unknown field"})
			}
		}
		if seen[name] {
			w.malformed = append(w.malformed, FieldError{Field: truncate(fp, maxFieldBytes), Reason: "field repeated"})
		}
		seen[name] = true
		if err := w.value(ft, fp, depth); err != nil {
			return err
		}
	}
	_, err := w.dec.Token() // '}'
	return err
}

// scalar checks a string, number or boolean against t.
func (w *walker) scalar(t reflect.Type, p string, tok json.Token) {
	switch v := tok.(type) {
	case string:
		switch {
		case t == timeType:
			if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
				w.wrong = append(w.wrong, FieldError{Field: p, Reason: fmt.Sprintf("must be an RFC 3339 date-time such as 2025-01-31T12:00:00Z, got %q", truncate(v, 40))})
			}
		case t.Kind() != reflect.String:
			w.mismatch(t, p, "a string")
		}
	case bool:
		if t.Kind() != reflect.Bool {
			w.mismatch(t, p, "a boolean")
		}
	case json.Number:
		switch t.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if _, err := strconv.ParseInt(v.String(), 10, t.Bits()); err != nil {
				w.wrong = append(w.wrong, FieldError{Field: p, Reason: fmt.Sprintf("must be an integer that fits in %d bits, got %s", t.Bits(), truncate(v.String(), 40))})
			}
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			if _, err := strconv.ParseUint(v.String(), 10, t.Bits()); err != nil {
				w.wrong = append(w.wrong, FieldError{Field: p, Reason: fmt.Sprintf("must be a non-negative integer that fits in %d bits, got %s", t.Bits(), truncate(v.String(), 40))})
			}
		case reflect.Float32, reflect.Float64:
			if _, err := strconv.ParseFloat(v.String(), t.Bits()); err != nil {
				w.wrong = append(w.wrong, FieldError{Field: p, Reason: fmt.Sprintf("number %s out of range", truncate(v.String(), 40))})
			}
		default:
			w.mismatch(t, p, "a number")
		}
	}
}

// mismatch records that the value at p is got where t is expected.
func (w *walker) mismatch(t reflect.Type, p, got string) {
	if t == nil {
		return
	}
	w.wrong = append(w.wrong, FieldError{Field: p, Reason: fmt.Sprintf("must be %s, got %s", expected(t), got)})
}

// expected names the JSON type a Go type decodes from.
func expected(t reflect.Type) string {
	if t == timeType {
		return "an RFC 3339 date-time string"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return t.String()
}

// tokenKind names the JSON type of the first token of a value.
func tokenKind(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return "an object"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", tok)
}

var fieldCache sync.Map // reflect.Type -> map[string]reflect.Type

// jsonFields maps the JSON names of a struct's exported fields to their
// types, following the json tags. The contract has no embedded structs.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]reflect.Type)
	}
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		fields[name] = f.Type
	}
	fieldCache.Store(t, fields)
	return fields
}
