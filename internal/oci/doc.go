// Package oci holds what the build and submit workers share about the
// registry: the format of a jar pushed as an OCI artifact (session jobs)
// and registry credentials read from a docker config.json file.
package oci
