package messages

import "time"

// UpgradeRequested is the submit worker's hand-over of a request for a job
// whose cluster runs another request (docs/upgrades.md): published on the
// Control topic, keyed by the job, consumed by the track worker, which
// stops or cancels the running job as Image.Request.Upgrade says, removes
// its cluster and hands Image back (ImageBuilt.UpgradeOf set) with the
// restore point in program.savepoint.
type UpgradeRequested struct {
	// RequestID is the new request's.
	RequestID string `json:"request_id" jsonschema:"minLength=1,maxLength=128,pattern=^[A-Za-z0-9._:-]+$"`
	// Job is the job both runs are of: the running job, keyed by it.
	Job JobRef `json:"job"`
	// Target is where the new request runs when it is a move
	// (upgrade.from): Image.Job, another place than Job. Nil: Job.
	Target *JobRef `json:"target,omitempty"`
	// Running is the request id of the run the cluster runs (its
	// Deployment's flinkferry.io/request-id).
	Running string `json:"running" jsonschema:"minLength=1,maxLength=128,pattern=^[A-Za-z0-9._:-]+$"`
	// Image is the new request's image built event, as the submit worker
	// received it.
	Image ImageBuilt `json:"image"`
	// Time is when the submit worker handed it over (RFC 3339).
	Time time.Time `json:"time"`
}

// EventType returns TypeUpgradeRequested.
func (e *UpgradeRequested) EventType() string { return TypeUpgradeRequested }

// JobKey returns e.Job.Key().
func (e *UpgradeRequested) JobKey() string { return e.Job.Key() }

func (e *UpgradeRequested) requestID() string { return e.RequestID }

// Validate returns nil or a FieldErrors listing every problem.
func (e *UpgradeRequested) Validate() error {
	var v validator
	checkRequestID(&v, "request_id", e.RequestID)
	e.Job.validate(&v, "job")
	checkRequestID(&v, "running", e.Running)
	checkTime(&v, "time", e.Time)
	if e.Image.RequestID != e.RequestID {
		v.addf("image.request_id", "must be request_id")
	}
	switch {
	case e.Target != nil:
		e.Target.validate(&v, "target")
		if e.Image.Job != *e.Target {
			v.addf("image.job", "must be target")
		}
		if e.Target.Key() == e.Job.Key() {
			v.addf("target", "must be another job than job (or absent)")
		}
	case e.Image.Job != e.Job:
		v.addf("image.job", "must be job")
	}
	if e.Image.Mode != ModeApplication {
		v.addf("image.mode", "only mode application is upgraded")
	}
	if err := e.Image.Validate(); err != nil {
		if fe, ok := err.(FieldErrors); ok {
			for _, f := range fe {
				v.addf("image."+f.Field, "%s", f.Reason)
			}
		} else {
			v.addf("image", "%s", err.Error())
		}
	}
	return v.result()
}
