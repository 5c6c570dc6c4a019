package messages

import "time"

// checkCommon checks the fields every event produced by flinkferry has:
// request_id, job, mode, time and labels.
func checkCommon(v *validator, requestID string, job JobRef, mode Mode, t time.Time, labels map[string]string) {
	checkRequestID(v, "request_id", requestID)
	job.validate(v, "job")
	checkMode(v, "mode", mode)
	checkTime(v, "time", t)
	checkLabels(v, "labels", labels)
}
