package cli

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/flinkferry/flinkferry/messages"
)

func newSuspendCmd() *cobra.Command {
	return newControlCmd(controlCommand{
		op:    messages.OpSuspend,
		use:   "suspend <cluster-id> [--dir URI] [--format canonical|native] [--drain] [--wait]",
		short: "Stop a job with a savepoint, to resume it later",
		long: `Asks the track worker to stop the job with a savepoint (Flink's
stop-with-savepoint; --drain first emits MAX_WATERMARK). An application
cluster is then deleted; the job's request and savepoint are kept for
'flinkferry resume'. With --wait, exits 0 when the job is SUSPENDED, 1 when
the savepoint failed (savepoint_failed) or the job stopped otherwise.`,
		args:        cobra.ExactArgs(1),
		flags:       savepointFlags,
		waitTimeout: 35 * time.Minute, // the track worker's savepoint timeout, and the cleanup
	})
}
