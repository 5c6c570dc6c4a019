package messages

import (
	"regexp"
	"strings"
)

// Container image reference grammar of the OCI distribution reference
// (github.com/distribution/reference), kept here as regular expressions so
// that this package stays light for the producers importing it.
const (
	refPathComponent = `[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`
	refDomainLabel   = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
	refHost          = `(?:` + refDomainLabel + `(?:\.` + refDomainLabel + `)*|\[[a-fA-F0-9:]+\])`
	refName          = `(?:` + refHost + `(?::[0-9]+)?/)?` + refPathComponent + `(?:/` + refPathComponent + `)*`
	refTag           = `[\w][\w.-]{0,127}`
	refDigest        = `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`

	// maxImageNameLength is the distribution limit on the name part.
	maxImageNameLength = 255

	digestRefExample = "registry.example.com/team/job@sha256:<64 lowercase hex>"
)

var (
	imageRefRegexp   = regexp.MustCompile(`^(` + refName + `)(?::` + refTag + `)?(?:@` + refDigest + `)?$`)
	digestRefRegexp  = regexp.MustCompile(`^(` + refName + `)@sha256:[0-9a-f]{64}$`)
	sha256HexRegexp  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	flinkJobIDRegexp = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

// imageRefProblem returns why s is not an image reference such as
// "flink:1.20", "registry:5000/team/flink:1.20-java17" or
// "repo@sha256:<hex>", or "" when it is one.
func imageRefProblem(s string) string {
	m := imageRefRegexp.FindStringSubmatch(s)
	if m == nil {
		return "must be an image reference such as flink:1.20-java17 or registry.example.com/team/flink@sha256:<hex>"
	}
	if len(m[1]) > maxImageNameLength {
		return "image name must be at most 255 characters"
	}
	return ""
}

// digestRefProblem returns why s is not an image pinned by digest,
// "<repository>@sha256:<64 lowercase hex>" without a tag, or "" when it is.
func digestRefProblem(s string) string {
	m := digestRefRegexp.FindStringSubmatch(s)
	if m == nil {
		if strings.Contains(s, "@") && !strings.Contains(s, "@sha256:") {
			return "must use a sha256 digest: " + digestRefExample
		}
		return "must be pinned by digest, without a tag: " + digestRefExample
	}
	if len(m[1]) > maxImageNameLength {
		return "image name must be at most 255 characters"
	}
	return ""
}
