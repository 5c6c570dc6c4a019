package flinksim_test

import (
	"fmt"
	"sort"
)

// object converts an object schema's properties, required and
// additionalProperties into out, closing objects that list properties.
func (cv *converter) object(s, out map[string]any) error {
	out["type"] = "object"
	props := obj(s, "properties")
	if props != nil {
		cp := map[string]any{}
		for name, p := range props {
			c, err := cv.convert(p.(map[string]any))
			if err != nil {
				return fmt.Errorf("property %s: %w", name, err)
			}
			cp[name] = c
		}
		out["properties"] = cp
	}
	if r, ok := s["required"]; ok {
		out["required"] = r
	}
	switch ap := s["additionalProperties"].(type) {
	case bool:
		out["additionalProperties"] = ap
	case map[string]any:
		c, err := cv.convert(ap)
		if err != nil {
			return fmt.Errorf("additionalProperties: %w", err)
		}
		out["additionalProperties"] = c
	default:
		if props != nil {
			out["additionalProperties"] = false
		}
	}
	return nil
}

// flatten merges the object schemas of an allOf (following $refs, without
// their discriminators) into one closed object.
func (cv *converter) flatten(parts []any) (map[string]any, error) {
	props := map[string]any{}
	var required []any
	var walk func(s map[string]any) error
	walk = func(s map[string]any) error {
		if ref, ok := s["$ref"].(string); ok {
			base, ok := cv.schemas[refName(ref)].(map[string]any)
			if !ok {
				return fmt.Errorf("unknown $ref %q", ref)
			}
			return walk(base)
		}
		if all, ok := s["allOf"].([]any); ok {
			for _, p := range all {
				if err := walk(p.(map[string]any)); err != nil {
					return err
				}
			}
		}
		for k, v := range obj(s, "properties") {
			props[k] = v
		}
		if r, ok := s["required"].([]any); ok {
			required = append(required, r...)
		}
		return nil
	}
	for _, p := range parts {
		if err := walk(p.(map[string]any)); err != nil {
			return nil, err
		}
	}
	merged := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		merged["required"] = required
	}
	return cv.convert(merged)
}

func slicesSorted(seq func(func(string) bool)) []string {
	var out []string
	for k := range seq {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
