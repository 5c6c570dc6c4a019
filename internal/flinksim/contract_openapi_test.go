package flinksim_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"strings"
)

// converter turns OpenAPI 3.0 component schemas into one JSON Schema
// (draft 2020-12) document whose $defs hold every component.
//
//   - $ref #/components/schemas/X becomes #/$defs/X.
//   - nullable: true becomes anyOf [schema, {type: null}].
//   - Objects with properties are closed (additionalProperties: false
//     unless the spec says otherwise), so an unknown field is an error:
//     field names cannot drift.
//   - allOf of objects (the subtypes of a discriminated base) is flattened
//     into one closed object; a subtype named in a discriminator mapping
//     pins the discriminator property to its mapping key.
//   - A schema with a discriminator dispatches on the property: its value
//     must be a mapping key, and the object must match the mapped subtype.
//   - oneOf without discriminator becomes anyOf: Flink's alternatives
//     overlap (AsynchronousOperationInfo and SavepointInfo both have only
//     failure-cause), so "exactly one" could never hold for a failure.
//   - int32/int64 formats become range checks; other formats (binary,
//     byte, double) only keep the JSON type.
type converter struct {
	schemas map[string]any
	pinned  map[string][2]string // subtype -> discriminator property, value
}

func newConverter(spec map[string]any) *converter {
	cv := &converter{schemas: componentSchemas(spec), pinned: map[string][2]string{}}
	for _, s := range cv.schemas {
		d := obj(s.(map[string]any), "discriminator")
		if d == nil {
			continue
		}
		prop, _ := d["propertyName"].(string)
		for key, ref := range obj(d, "mapping") {
			cv.pinned[refName(ref.(string))] = [2]string{prop, key}
		}
	}
	return cv
}

func refName(ref string) string { return strings.TrimPrefix(ref, "#/components/schemas/") }

// document returns the JSON Schema document with every component in $defs
// plus extra named schemas (converted too).
func (cv *converter) document(extra map[string]any) (map[string]any, error) {
	defs := map[string]any{}
	for name, s := range cv.schemas {
		c, err := cv.component(name, s.(map[string]any))
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
		defs[name] = c
	}
	for name, s := range extra {
		c, err := cv.convert(s.(map[string]any))
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
		defs[name] = c
	}
	return map[string]any{"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": defs}, nil
}

func (cv *converter) component(name string, s map[string]any) (map[string]any, error) {
	if d := obj(s, "discriminator"); d != nil {
		prop, _ := d["propertyName"].(string)
		mapping := obj(d, "mapping")
		keys := slicesSorted(maps.Keys(mapping))
		var branches []any
		for _, k := range keys {
			branches = append(branches, map[string]any{
				"if":   map[string]any{"properties": map[string]any{prop: map[string]any{"const": k}}},
				"then": map[string]any{"$ref": "#/$defs/" + refName(mapping[k].(string))},
			})
		}
		return map[string]any{
			"type": "object", "required": []any{prop},
			"properties": map[string]any{prop: map[string]any{"enum": toAny(keys)}},
			"allOf":      branches,
		}, nil
	}
	out, err := cv.convert(s)
	if err != nil {
		return nil, err
	}
	if pin, ok := cv.pinned[name]; ok {
		if props := obj(out, "properties"); props != nil && props[pin[0]] != nil {
			props[pin[0]] = map[string]any{"const": pin[1]}
		} else {
			return nil, fmt.Errorf("subtype lacks discriminator property %q", pin[0])
		}
	}
	return out, nil
}

func (cv *converter) convert(s map[string]any) (map[string]any, error) {
	if s["nullable"] == true {
		inner := maps.Clone(s)
		delete(inner, "nullable")
		c, err := cv.convert(inner)
		if err != nil {
			return nil, err
		}
		return map[string]any{"anyOf": []any{c, map[string]any{"type": "null"}}}, nil
	}
	if ref, ok := s["$ref"].(string); ok {
		if !strings.HasPrefix(ref, "#/components/schemas/") {
			return nil, fmt.Errorf("unsupported $ref %q", ref)
		}
		return map[string]any{"$ref": "#/$defs/" + refName(ref)}, nil
	}
	if all, ok := s["allOf"].([]any); ok {
		return cv.flatten(all)
	}
	for _, kw := range []string{"oneOf", "anyOf"} {
		if alts, ok := s[kw].([]any); ok {
			var out []any
			for _, a := range alts {
				c, err := cv.convert(a.(map[string]any))
				if err != nil {
					return nil, err
				}
				out = append(out, c)
			}
			return map[string]any{"anyOf": out}, nil
		}
	}
	out := map[string]any{}
	if e, ok := s["enum"]; ok {
		out["enum"] = e
	}
	if c, ok := s["const"]; ok {
		out["const"] = c
	}
	switch typ, _ := s["type"].(string); typ {
	case "":
		// no type: anything (or the enum above)
	case "object":
		if err := cv.object(s, out); err != nil {
			return nil, err
		}
	case "array":
		out["type"] = "array"
		if items := obj(s, "items"); items != nil {
			c, err := cv.convert(items)
			if err != nil {
				return nil, err
			}
			out["items"] = c
		}
	case "integer":
		out["type"] = "integer"
		switch s["format"] {
		case "int32":
			out["minimum"], out["maximum"] = json.Number(fmt.Sprint(math.MinInt32)), json.Number(fmt.Sprint(math.MaxInt32))
		case "int64":
			out["minimum"], out["maximum"] = json.Number(fmt.Sprint(int64(math.MinInt64))), json.Number(fmt.Sprint(int64(math.MaxInt64)))
		}
	case "number", "string", "boolean":
		out["type"] = typ
		if p, ok := s["pattern"]; ok {
			out["pattern"] = p
		}
	default:
		return nil, fmt.Errorf("unsupported type %q", typ)
	}
	return out, nil
}
