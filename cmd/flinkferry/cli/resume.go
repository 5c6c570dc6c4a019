package cli

import (
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/flinkferry/flinkferry/messages"
)

func newResumeCmd() *cobra.Command {
	return newControlCmd(controlCommand{
		op:    messages.OpResume,
		use:   "resume <cluster-id> [--from savepoint|checkpoint|none|PATH] [--wait]",
		short: "Deploy a suspended (or stopped) job again from its state",
		long: `Asks the track worker to deploy a suspended (or cancelled, failed, finished)
job again from its last request. --from says where it restores from:
savepoint (the savepoint the last suspend took, else the latest of the
history; the default), checkpoint (the latest completed checkpoint), none
(no state), or any other value: the path of a savepoint or retained
checkpoint. With --wait, exits 0 when the job is RUNNING.`,
		args: cobra.ExactArgs(1),
		flags: func(f *pflag.FlagSet, o *controlOptions) {
			f.StringVar(&o.from, "from", "", "restore from: savepoint (the default), checkpoint, none, or a savepoint or checkpoint path")
		},
		waitTimeout: 10 * time.Minute,
	})
}
