package cli

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/flinkferry/flinkferry/messages"
)

func newSavepointCmd() *cobra.Command {
	return newControlCmd(controlCommand{
		op:    messages.OpSavepoint,
		use:   "savepoint <cluster-id> [--dir URI] [--format canonical|native] [--wait]",
		short: "Take a savepoint of a running job; it keeps running",
		long: `Asks the track worker to take a savepoint of the running job (Flink's
POST /jobs/{id}/savepoints); the job keeps running. --drain is suspend's
only. With --wait, exits 0 when the savepoint completed (savepoint_completed)
and 1 when it failed (savepoint_failed).`,
		args:        cobra.ExactArgs(1),
		flags:       savepointFlags,
		waitTimeout: 35 * time.Minute, // the track worker's savepoint timeout, and some
	})
}
