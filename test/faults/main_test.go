package faults

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/devproc"
	"github.com/flinkferry/flinkferry/internal/testenv"
)

// binary is the flinkferry binary TestMain built; root the module root,
// every process's working directory.
var binary, root string

func TestMain(m *testing.M) {
	testenv.MainFunc(func() int {
		var remove func()
		var err error
		if root, binary, remove, err = devproc.BuildTemp("flinkferry-faults-"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer remove()
		return m.Run()
	})
}

// profile is the size of a run: the short one in the default test run,
// the full one with FLINKFERRY_FAULTS_PROFILE=full.
type profile struct {
	name string
	// jobs is how many application jobs are submitted; every second one
	// is suspended once RUNNING.
	jobs int
	// kills is how many worker processes are SIGKILLed (and restarted)
	// at random moments while the jobs flow.
	kills int
	// pace is the mean time between two submits.
	pace time.Duration
}

func currentProfile() profile {
	if os.Getenv("FLINKFERRY_FAULTS_PROFILE") == "full" {
		return profile{name: "full", jobs: 500, kills: 30, pace: 400 * time.Millisecond}
	}
	return profile{name: "short", jobs: 16, kills: 5, pace: time.Second}
}
