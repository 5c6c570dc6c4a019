package admission

import (
	"strings"

	"github.com/flinkferry/flinkferry/messages"
)

// savepointOptions are the Flink options that name where a job writes its
// savepoints or restores its state from, under the names of every Flink
// version flinkferry deploys (1.x and 2.x).
var savepointOptions = []string{
	"state.savepoints.dir",
	"execution.checkpointing.savepoint-dir",
	"execution.savepoint.path",
	"execution.state-recovery.path",
}

// WithSavepointDirs returns a copy of a that admits a request's savepoint
// locations (program.savepoint.path, savepoints.directory and the Flink
// options naming a savepoint directory or restore path) only under one of
// dirs, the installation's allow-list (FLINKFERRY_*_SAVEPOINT_DIRS). An
// empty list allows any location, as the track worker's control requests.
func (a *Admitter) WithSavepointDirs(dirs []string) *Admitter {
	b := *a
	b.savepointDirs = dirs
	return &b
}

// checkSavepointLocations refuses a savepoint location outside the
// allow-list: the track worker refuses a control request's, and a submit
// request must not reach further through its own fields or options.
func (a *Admitter) checkSavepointLocations(c *refusal, req *messages.SubmitRequested, opts options) {
	if len(a.savepointDirs) == 0 {
		return
	}
	check := func(field, p string) {
		if p != "" && !AllowedLocation(p, a.savepointDirs) {
			c.add(field, messages.DeployReasonSavepointLocationNotAllowed, "%q is not under an allowed savepoint location (%s)",
				clip(p), strings.Join(a.savepointDirs, ", "))
		}
	}
	if req.Program != nil && req.Program.Savepoint != nil {
		check("program.savepoint.path", req.Program.Savepoint.Path)
	}
	if req.Savepoints != nil {
		check("savepoints.directory", req.Savepoints.Directory)
	}
	for _, k := range savepointOptions {
		if o, ok := opts.get(k); ok {
			check(o.field, o.value)
		}
	}
}

// AllowedLocation reports whether the savepoint location p is under one
// of the prefixes: at a path-segment boundary (s3://a/sp does not allow
// s3://a/sp2), and never with a ".." segment.
func AllowedLocation(p string, prefixes []string) bool {
	if strings.Contains(p, "/../") || strings.HasSuffix(p, "/..") {
		return false
	}
	for _, pre := range prefixes {
		if pre != "" && strings.HasPrefix(p, pre) && (strings.HasSuffix(pre, "/") || len(p) == len(pre) || p[len(pre)] == '/') {
			return true
		}
	}
	return false
}

// clip bounds a location quoted in a refusal.
func clip(s string) string {
	const max = 256
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "") + "…"
}
