package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/flinkferry/flinkferry/internal/worker"
	"github.com/flinkferry/flinkferry/workers/alert"
	"github.com/flinkferry/flinkferry/workers/build"
	"github.com/flinkferry/flinkferry/workers/submit"
	"github.com/flinkferry/flinkferry/workers/track"
)

// workerDef ties a worker's name to its configuration and entry point.
type workerDef struct {
	name  string
	short string
	cfg   func() worker.Validator
	run   func(ctx context.Context, cfg worker.Validator) error
}

func workerDefs() []workerDef {
	return []workerDef{
		{"build", "Fetch job jars and build and push Flink images",
			func() worker.Validator { return &build.Config{} },
			func(ctx context.Context, c worker.Validator) error { return build.Run(ctx, *c.(*build.Config)) }},
		{"submit", "Deploy Flink clusters and jobs to Kubernetes",
			func() worker.Validator { return &submit.Config{} },
			func(ctx context.Context, c worker.Validator) error { return submit.Run(ctx, *c.(*submit.Config)) }},
		{"track", "Track Flink jobs into Redis and publish status changes",
			func() worker.Validator { return &track.Config{} },
			func(ctx context.Context, c worker.Validator) error { return track.Run(ctx, *c.(*track.Config)) }},
		{"alert", "Turn status events into alerts sent to webhooks (rules in FLINKFERRY_ALERT_RULES_FILE)",
			func() worker.Validator { return &alert.Config{} },
			func(ctx context.Context, c worker.Validator) error { return alert.Run(ctx, *c.(*alert.Config)) }},
	}
}

// allSpecs returns an empty configuration of every worker, so a variable of
// any worker is known to all of them (one ConfigMap can serve the three).
func allSpecs() []any {
	var specs []any
	for _, d := range workerDefs() {
		specs = append(specs, d.cfg())
	}
	return specs
}

func newWorkerCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run one of the flinkferry workers (configured by FLINKFERRY_* variables)",
	}
	for _, d := range workerDefs() {
		cmd.AddCommand(&cobra.Command{
			Use:   d.name,
			Short: d.short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				cfg := d.cfg()
				if err := worker.Load(cfg, allSpecs()...); err != nil {
					return err
				}
				return d.run(cmd.Context(), cfg)
			},
		})
	}
	// --help prints the environment table of the worker.
	for _, c := range cmd.Commands() {
		def := findDef(c.Name())
		c.SetHelpFunc(func(c *cobra.Command, _ []string) {
			var b strings.Builder
			_ = worker.Usage(&b, def.cfg())
			fmt.Fprintf(c.OutOrStdout(), "%s\n\nUsage:\n  %s\n\nEnvironment:\n%s", c.Short, c.UseLine(), b.String())
		})
	}
	return cmd
}

func findDef(name string) workerDef {
	for _, d := range workerDefs() {
		if d.name == name {
			return d
		}
	}
	panic("unknown worker " + name)
}
