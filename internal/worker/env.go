package worker

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/kelseyhightower/envconfig"
)

// Validator is a configuration that checks itself.
type Validator interface{ Validate() error }

// Load fills cfg from FLINKFERRY_* variables (defaults from its struct tags)
// and validates it. A FLINKFERRY_ variable that no flinkferry component
// knows is an error (a typo would otherwise be silently ignored); known
// lists the specs of every component so that one environment can serve them all.
func Load(cfg Validator, known ...any) error {
	if err := envconfig.Process(Prefix, cfg); err != nil {
		return fmt.Errorf("reading configuration: %w", err)
	}
	if err := CheckUnknown(append(known, cfg)...); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	return nil
}

// Keys returns the environment variable names of specs.
func Keys(specs ...any) ([]string, error) {
	var keys []string
	for _, s := range specs {
		var buf bytes.Buffer
		if err := envconfig.Usagef(Prefix, s, &buf, "{{range .}}{{usage_key .}}\n{{end}}"); err != nil {
			return nil, err
		}
		keys = append(keys, strings.Fields(buf.String())...)
	}
	slices.Sort(keys)
	return slices.Compact(keys), nil
}

// CheckUnknown fails on a FLINKFERRY_ variable that none of specs declares.
func CheckUnknown(specs ...any) error {
	keys, err := Keys(specs...)
	if err != nil {
		return err
	}
	keys = append(keys, CLIVariables...)
	var unknown []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, Prefix+"_") && !slices.Contains(keys, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("unknown environment variables (typo?): %s", strings.Join(unknown, ", "))
	}
	return nil
}

// CLIVariables are FLINKFERRY_* variables read by the CLI commands, not by
// the workers; a worker accepts them in its environment.
var CLIVariables = []string{"FLINKFERRY_DEV_STATE"}

// Usage writes the table of spec's variables: name, type, default, description.
func Usage(w io.Writer, spec any) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	const tmpl = "VARIABLE\tTYPE\tDEFAULT\tDESCRIPTION\n" +
		"{{range .}}{{usage_key .}}\t{{usage_type .}}\t{{usage_default .}}\t{{usage_description .}}\n{{end}}"
	if err := envconfig.Usagef(Prefix, spec, tw, tmpl); err != nil {
		return err
	}
	return tw.Flush()
}
