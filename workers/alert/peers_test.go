package alert

import "github.com/flinkferry/flinkferry/workers/alert/alerttest"

// The real peers (alerttest), under this package's test names.
var (
	startAlertmanager = alerttest.StartAlertmanager
	amAlerts          = alerttest.Alerts
	startMailpit      = alerttest.StartMailpit
	toolPath          = alerttest.ToolPath
	startPeer         = alerttest.StartPeer
)

type (
	lockedBuffer  = alerttest.Buffer
	gettableAlert = alerttest.Alert
)
