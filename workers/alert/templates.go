package alert

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

// funcs are the functions body templates may use besides text/template's:
//
//	json       the value as JSON (a string becomes a quoted, escaped literal)
//	trunc n s  s cut to at most n bytes on a rune boundary, "…" added when cut
//	time t     t in RFC 3339 (UTC)
//	upper s    s in upper case
//	labels     labels as "k=v, k=v" (sorted)
var funcs = template.FuncMap{
	"json": func(v any) (string, error) {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return "", err
		}
		return strings.TrimSuffix(b.String(), "\n"), nil
	},
	"trunc": func(n int, s string) string { return truncate(s, n) },
	"time":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"upper": strings.ToUpper,
	"labels": func(m map[string]string) string {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + m[k]
		}
		return strings.Join(parts, ", ")
	},
}

// truncate cuts s to at most n bytes on a rune boundary, ending with "…"
// when it was cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ell = "…"
	if n <= len(ell) {
		return ""
	}
	cut := n - len(ell)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ell
}

// TemplateNames lists the shipped body templates.
func TemplateNames() []string {
	return []string{"dingtalk", "json", "lark", "slack", "teams", "wecom"}
}

// shippedTemplate parses the shipped template name.
func shippedTemplate(name string) (*template.Template, error) {
	b, err := templateFS.ReadFile("templates/" + name + ".tmpl")
	if err != nil {
		return nil, fmt.Errorf("no shipped template %q", name)
	}
	return parseBody(name, string(b))
}

// render executes t on n, refusing bodies over maxBytes.
func render(t *template.Template, n *Notice, maxBytes int) ([]byte, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, n); err != nil {
		return nil, fmt.Errorf("rendering body: %w", err)
	}
	if maxBytes > 0 && b.Len() > maxBytes {
		return nil, fmt.Errorf("rendered body is %d bytes, more than %d", b.Len(), maxBytes)
	}
	return b.Bytes(), nil
}
