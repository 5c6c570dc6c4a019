// Package failure classifies errors for the workers: a permanent error is
// one that retrying cannot fix, and it carries a machine-readable reason
// (a snake_case code such as "artifact_not_found"); any other error is
// transient.
//
// Pure worker code (fetching a jar, building an image, rendering
// Kubernetes objects) marks its permanent errors with [Permanent] or
// [Permanentf] and knows nothing of Kafka. The Kafka plumbing (package
// bus) reads the class with [IsPermanent] to stop retrying, and the reason
// with [Reason] for the dead-letter header and the failure events.
//
// The package imports only the standard library, so any package of the
// module can use it.
package failure
