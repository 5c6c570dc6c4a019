package messages

import "regexp"

// Topics names the Kafka topics. Which event types go where:
//
//	Submit      SubmitRequested (from upstream producers; build worker consumes)
//	Control     ControlRequested (from upstream producers; track worker consumes)
//	ImageBuilt  ImageBuilt (submit worker consumes)
//	Deployed    Deployed (track worker consumes)
//	Status      every user-visible lifecycle event, for alerting: ImageBuilt,
//	            BuildFailed, Deployed, DeployFailed, JobStatusChanged
//	DeadLetter  records no handler could process, unchanged, with the reason
//
// An event going to two topics is the same record (key, headers, value) on
// both. For is the same table in code.
type Topics struct {
	// Submit carries SubmitRequested.
	Submit string
	// Control carries ControlRequested.
	Control string
	// ImageBuilt carries ImageBuilt.
	ImageBuilt string
	// Deployed carries Deployed.
	Deployed string
	// Status carries every user-visible lifecycle event.
	Status string
	// DeadLetter carries the records no handler could process.
	DeadLetter string
}

// DefaultTopics returns the topics named prefix + submit, control,
// image-built, deployed, status and dead-letter. flinkferry's default prefix is
// "flinkferry.".
func DefaultTopics(prefix string) Topics {
	return Topics{
		Submit:     prefix + "submit",
		Control:    prefix + "control",
		ImageBuilt: prefix + "image-built",
		Deployed:   prefix + "deployed",
		Status:     prefix + "status",
		DeadLetter: prefix + "dead-letter",
	}
}

// All returns the six topics: Submit, Control, ImageBuilt, Deployed,
// Status, DeadLetter.
func (t Topics) All() []string {
	return []string{t.Submit, t.Control, t.ImageBuilt, t.Deployed, t.Status, t.DeadLetter}
}

// DefaultType returns the event type of a record without a ce_type header
// arriving on topic: TypeSubmitRequested on Submit, TypeControlRequested
// on Control, TypeImageBuilt on
// ImageBuilt, TypeDeployed on Deployed, TypeJobStatusChanged on Status,
// and "" on any other topic (such a record is rejected).
func (t Topics) DefaultType(topic string) string {
	switch {
	case topic == "":
		return ""
	case topic == t.Submit:
		return TypeSubmitRequested
	case topic == t.Control:
		return TypeControlRequested
	case topic == t.ImageBuilt:
		return TypeImageBuilt
	case topic == t.Deployed:
		return TypeDeployed
	case topic == t.Status:
		return TypeJobStatusChanged
	}
	return ""
}

// For returns the topics an event of eventType is published to (see
// Topics), or nil for an unregistered type.
func (t Topics) For(eventType string) []string {
	routes := registry[eventType].routes
	var topics []string
	for _, r := range []struct {
		route route
		topic string
	}{
		{toSubmit, t.Submit},
		{toControl, t.Control},
		{toImageBuilt, t.ImageBuilt},
		{toDeployed, t.Deployed},
		{toStatus, t.Status},
	} {
		if routes&r.route != 0 {
			topics = append(topics, r.topic)
		}
	}
	return topics
}

var topicNameRegexp = regexp.MustCompile(`^[A-Za-z0-9._-]{1,249}$`)

// Validate checks that every topic is a valid Kafka topic name (1 to 249
// of letters, digits, '.', '_', '-'; not "." or "..") and that they are
// distinct.
func (t Topics) Validate() error {
	var v validator
	seen := map[string]string{}
	for _, f := range []struct{ field, name string }{
		{"submit", t.Submit}, {"control", t.Control}, {"image_built", t.ImageBuilt}, {"deployed", t.Deployed},
		{"status", t.Status}, {"dead_letter", t.DeadLetter},
	} {
		switch {
		case f.name == "":
			v.addf(f.field, "required")
			continue
		case !topicNameRegexp.MatchString(f.name) || f.name == "." || f.name == "..":
			v.addf(f.field, "invalid Kafka topic name %q", f.name)
		}
		if other, ok := seen[f.name]; ok {
			v.addf(f.field, "same topic as %s", other)
		}
		seen[f.name] = f.field
	}
	return v.result()
}
