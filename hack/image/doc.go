// Command image builds the flinkferry image without a Docker daemon and
// pushes it: flinkferry cross-compiled for each platform (CGO_ENABLED=0,
// -trimpath, version and commit linked in), one layer holding /flinkferry
// on a distroless static base, non-root, OCI labels, an index of every
// platform, and an SPDX SBOM of each binary attached as an OCI artifact
// whose subject is that platform's image.
//
// The same commit gives the same digests: layer entries and the image's
// creation time come from SOURCE_DATE_EPOCH or the commit time, never the
// clock. `go tool task image` runs it; see docs/decisions.md ("Image").
//
// Usage:
//
//	go run ./hack/image -repo ghcr.io/flinkferry/flinkferry -tag 0.1.0
//
// Credentials come from FLINKFERRY_IMAGE_USERNAME and
// FLINKFERRY_IMAGE_PASSWORD, else from the Docker config file
// ($DOCKER_CONFIG/config.json); the password is never logged.
package main
