package cli

import (
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/flinkferry/flinkferry/messages"
)

func newRestartCmd() *cobra.Command {
	return newControlCmd(controlCommand{
		op:    messages.OpRestart,
		use:   "restart <cluster-id> [--from savepoint|checkpoint|none|PATH] [--allow-non-restored-state] [--restore-mode CLAIM|NO_CLAIM] [--wait]",
		short: "Deploy a job again with its current request (a restart nonce)",
		long: `Asks the track worker to deploy the job again with the request it runs (or
ran): a running job is stopped first, an application cluster removed, and
the request deployed again under the restart's request id. --from says
where the new run restores from: savepoint (the default: a running job is
stopped with a new savepoint; a job that no longer runs restores from the
latest savepoint of its history), checkpoint (the latest completed
checkpoint; a running job is cancelled), none (no state; a running job is
cancelled), or any other value: the path of a savepoint or retained
checkpoint. --allow-non-restored-state and --restore-mode are Flink's
execution.savepoint.ignore-unclaimed-state and
execution.savepoint-restore-mode for the new run. With --wait, exits 0
when the new run is RUNNING.`,
		args: cobra.ExactArgs(1),
		flags: func(f *pflag.FlagSet, o *controlOptions) {
			f.StringVar(&o.from, "from", "", "restore from: savepoint (the default), checkpoint, none, or a savepoint or checkpoint path")
			f.BoolVar(&o.allowNonRestored, "allow-non-restored-state", false, "start even if some state maps to no operator (execution.savepoint.ignore-unclaimed-state)")
			f.StringVar(&o.restoreMode, "restore-mode", "", "CLAIM or NO_CLAIM (execution.savepoint-restore-mode; default: Flink's, NO_CLAIM)")
		},
		waitTimeout: 10 * time.Minute,
	})
}
