package cli

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/flinkferry/flinkferry/messages"
)

func newCancelCmd() *cobra.Command {
	return newControlCmd(controlCommand{
		op:    messages.OpCancel,
		use:   "cancel <cluster-id> [--wait]",
		short: "Cancel a job without a savepoint",
		long: `Asks the track worker to cancel the job without a savepoint (Flink's
PATCH /jobs/{id}); an application cluster is then deleted. With --wait,
exits 0 when the job is CANCELED.`,
		args:        cobra.ExactArgs(1),
		waitTimeout: 10 * time.Minute,
	})
}
