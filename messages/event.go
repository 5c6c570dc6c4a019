package messages

import (
	"fmt"
	"slices"
)

// Event is implemented by every payload type (as a pointer).
type Event interface {
	// EventType returns the CloudEvents type, e.g. TypeSubmitRequested.
	EventType() string
	// JobKey returns the Kafka record key: the Key of the event's JobRef.
	JobKey() string
	// Validate returns nil, or a FieldErrors listing every problem.
	Validate() error
}

// CloudEvents types of the events. The suffix is the contract version: a
// breaking change gets a new type.
const (
	// TypeSubmitRequested asks flinkferry to build and deploy a Flink job or
	// session cluster (SubmitRequested).
	TypeSubmitRequested = "io.flinkferry.submit.requested.v1"
	// TypeImageBuilt reports a built and pushed image (ImageBuilt).
	TypeImageBuilt = "io.flinkferry.image.built.v1"
	// TypeBuildFailed reports a build that cannot succeed (BuildFailed).
	TypeBuildFailed = "io.flinkferry.build.failed.v1"
	// TypeDeployed reports Kubernetes objects created for a job (Deployed).
	TypeDeployed = "io.flinkferry.deployed.v1"
	// TypeDeployFailed reports a deployment that cannot succeed (DeployFailed).
	TypeDeployFailed = "io.flinkferry.deploy.failed.v1"
	// TypeJobStatusChanged reports a new state of a tracked job (JobStatusChanged).
	TypeJobStatusChanged = "io.flinkferry.job.status.changed.v1"
	// TypeControlRequested asks flinkferry to act on a job it runs
	// (ControlRequested).
	TypeControlRequested = "io.flinkferry.control.requested.v1"
	// TypeControlRefused reports a control request refused before anything
	// was triggered (ControlRefused).
	TypeControlRefused = "io.flinkferry.control.refused.v1"
	// TypeUpgradeRequested hands a submit request for a job that runs to
	// the track worker, which replaces the run (UpgradeRequested).
	TypeUpgradeRequested = "io.flinkferry.upgrade.requested.v1"
)

// decoding says how strictly a type's payloads are decoded.
type decoding bool

const (
	// strict: user-authored commands; unknown fields are errors.
	strict decoding = true
	// tolerant: events flinkferry produces; unknown fields are ignored.
	tolerant decoding = false
)

// route is a set of topics (see Topics.For).
type route uint8

const (
	toSubmit route = 1 << iota
	toImageBuilt
	toDeployed
	toStatus
	toControl
)

// registration describes one event type.
type registration struct {
	new      func() Event
	decoding decoding
	routes   route
}

// registry holds every known event type. Adding a type (a cancel or
// savepoint request, say) is one line here.
var registry = map[string]registration{
	TypeSubmitRequested:  {func() Event { return new(SubmitRequested) }, strict, toSubmit},
	TypeImageBuilt:       {func() Event { return new(ImageBuilt) }, tolerant, toImageBuilt | toStatus},
	TypeBuildFailed:      {func() Event { return new(BuildFailed) }, tolerant, toStatus},
	TypeDeployed:         {func() Event { return new(Deployed) }, tolerant, toDeployed | toStatus},
	TypeDeployFailed:     {func() Event { return new(DeployFailed) }, tolerant, toStatus},
	TypeJobStatusChanged: {func() Event { return new(JobStatusChanged) }, tolerant, toStatus},
	TypeControlRequested: {func() Event { return new(ControlRequested) }, strict, toControl},
	TypeControlRefused:   {func() Event { return new(ControlRefused) }, tolerant, toStatus},
	TypeUpgradeRequested: {func() Event { return new(UpgradeRequested) }, tolerant, toControl},
}

// NewEvent returns a new zero value of the registered type, as a pointer
// (*SubmitRequested for TypeSubmitRequested, ...). For an unregistered type
// it returns an error wrapping ErrUnknownEventType.
func NewEvent(eventType string) (Event, error) {
	reg, ok := registry[eventType]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownEventType, eventType)
	}
	return reg.new(), nil
}

// Types returns every registered event type, sorted.
func Types() []string {
	types := make([]string, 0, len(registry))
	for t := range registry {
		types = append(types, t)
	}
	slices.Sort(types)
	return types
}

// IsCommand reports whether eventType is a user-authored command
// (SubmitRequested, ControlRequested), decoded strictly, rather than an event flinkferry
// produces, decoded tolerantly. It is false for unregistered types.
func IsCommand(eventType string) bool {
	reg, ok := registry[eventType]
	return ok && reg.decoding == strict
}

// requestIDer is implemented by every event type of this package.
type requestIDer interface {
	requestID() string
}

// RequestIDOf returns the request id an event carries (the request_id field
// every event type has), or "" for nil or an Event of another package.
func RequestIDOf(ev Event) string {
	if r, ok := ev.(requestIDer); ok && !isNil(ev) {
		return r.requestID()
	}
	return ""
}
