package cli

import "github.com/spf13/cobra"

// New returns the root command.
func New() *cobra.Command {
	root := &cobra.Command{
		Use:           "flinkferry",
		Short:         "Run Apache Flink jobs on Kubernetes through Kafka-chained workers",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newVersionCmd(), newWorkerCmd(), newSubmitCmd(), newStatusCmd(), newEventsCmd(), newDevCmd(),
		newCancelCmd(), newSuspendCmd(), newResumeCmd(), newRestartCmd(), newSavepointCmd(), newDeleteCmd(), newDisposeCmd(), newSavepointsCmd(), newTopicsCmd(), newAlertsCmd())
	return root
}
