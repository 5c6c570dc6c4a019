package cli

import (
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/flinkferry/flinkferry/messages"
)

func newDeleteCmd() *cobra.Command {
	return newControlCmd(controlCommand{
		op:    messages.OpDelete,
		use:   "delete <cluster-id> [--force] [--wait]",
		short: "Delete a job's cluster (or cancel a session job) and forget the job",
		long: `Asks the track worker to remove the job's cluster (application or session
cluster), or cancel a session job, and to forget the job. --force removes a
session cluster that still runs jobs (they are cancelled). With --wait,
exits 0 when the job is deleted (reason deleted, or TERMINATED).`,
		args: cobra.ExactArgs(1),
		flags: func(f *pflag.FlagSet, o *controlOptions) {
			f.BoolVar(&o.force, "force", false, "delete a session cluster that still runs jobs (they are cancelled)")
		},
		waitTimeout: 10 * time.Minute,
	})
}
