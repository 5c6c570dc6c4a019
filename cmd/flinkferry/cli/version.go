package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Set at link time: -ldflags "-X github.com/flinkferry/flinkferry/cmd/flinkferry/cli.version=v0.1.0 -X ...cli.commit=abc".
var (
	version = "dev"
	commit  = ""
)

// Version returns the version and commit of this binary.
func Version() (string, string) {
	c := commit
	if c == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					c = s.Value
				}
			}
		}
	}
	if c == "" {
		c = "unknown"
	}
	return version, c
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and commit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, c := Version()
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "flinkferry %s (commit %s, %s)\n", v, c, runtime.Version())
			return err
		},
	}
}
