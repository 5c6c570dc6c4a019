package cli

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/flinkferry/flinkferry/messages"
)

func newDisposeCmd() *cobra.Command {
	return newControlCmd(controlCommand{
		op:    messages.OpDispose,
		use:   "dispose <cluster-id> <savepoint-path> [--wait]",
		short: "Dispose a savepoint of a job's history",
		long: `Asks the track worker to dispose a savepoint of the job's savepoint history
through Flink (POST /savepoint-disposal) and to remove it from the history.
With --wait, exits 0 when it is disposed (savepoint_disposed) and 1 when the
disposal failed (dispose_failed).`,
		// A missing path is the request's problem (savepoint_path), reported
		// like every other.
		args:        cobra.RangeArgs(1, 2),
		waitTimeout: 10 * time.Minute,
	})
}
