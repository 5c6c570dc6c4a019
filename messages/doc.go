// Package messages is flinkferry's public message contract: the JSON
// payloads that travel on Kafka between upstream producers, the build,
// submit and track workers, and alerting consumers.
//
// # Events
//
// Every payload type implements Event. Its CloudEvents type is versioned
// (io.flinkferry.<what>.v1); a breaking change gets a new type, never a new
// meaning for an old one. The types are:
//
//	type                                  Go type           topics (see Topics)
//	io.flinkferry.submit.requested.v1     SubmitRequested   Submit
//	io.flinkferry.image.built.v1          ImageBuilt        ImageBuilt, Status
//	io.flinkferry.build.failed.v1         BuildFailed       Status
//	io.flinkferry.deployed.v1             Deployed          Deployed, Status
//	io.flinkferry.deploy.failed.v1        DeployFailed      Status
//	io.flinkferry.job.status.changed.v1   JobStatusChanged  Status
//
// Every record is keyed by the job (JobRef.Key), so all the records of one
// job keep their order within a partition.
//
// # Decoding
//
// SubmitRequested is a command written by people and by other systems: it is
// decoded strictly, and an unknown field (a typo such as "clusterId") is an
// error. The other types are produced by flinkferry itself and decoded
// tolerantly: unknown fields are ignored, so a newer producer can add
// optional fields without breaking older consumers. Decode and DecodeMessage
// return a *DecodeError whose Reason is a stable machine code (ReasonOf);
// per-field problems are listed in a FieldErrors.
//
// # Kafka records
//
// Records use the CloudEvents Kafka protocol binding in binary mode: the JSON
// payload is the record value and the attributes are ce_* headers (see
// Encode). A producer that cannot set headers may send only the key and the
// JSON value: DecodeMessage then takes the type from the topic
// (Topics.DefaultType).
//
// # Schemas
//
// JSON Schema files generated from these types live in messages/schema, one
// per event type; examples live in messages/testdata/valid. The Go
// validation (Validate) is authoritative: the schemas carry the per-field
// rules (patterns, lengths, enums) and the main cross-field ones, but not
// every check (duplicate dynamic options, YAML of pod templates, ...).
package messages
