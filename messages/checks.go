package messages

import (
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Limits shared by several event types.
const (
	maxRequestIDLength = 128
	maxLabels          = 32
	maxReasonLength    = 64
	maxMessageBytes    = 32 << 10
	maxURLLength       = 2048
)

var (
	requestIDRegexp = regexp.MustCompile(`^[A-Za-z0-9._:-]+$`)
	reasonRegexp    = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	kindRegexp      = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`)
)

// reservedLabels are label keys Flink's native Kubernetes integration uses
// in its selectors (or flinkferry sets itself): a user value would make
// Flink lose track of its own pods.
var reservedLabels = []string{"app", "component", "configmap-type", "type", "app.kubernetes.io/managed-by"}

// checkRequestID checks a request id: required, 1 to 128 characters of
// letters, digits and . _ : -.
func checkRequestID(v *validator, p, id string) {
	switch {
	case id == "":
		v.addf(p, "required")
	case len(id) > maxRequestIDLength:
		v.addf(p, "must be at most %d characters, got %d", maxRequestIDLength, len(id))
	case !requestIDRegexp.MatchString(id):
		v.addf(p, "must contain only letters, digits, '.', '_', ':' and '-'")
	}
}

// checkMode checks a required Mode.
func checkMode(v *validator, p string, m Mode) {
	switch {
	case m == "":
		v.addf(p, "required")
	case !m.IsKnown():
		v.addf(p, "must be one of application, session, session-cluster, got %q", m)
	}
}

// checkTime checks a required timestamp.
func checkTime(v *validator, p string, t time.Time) {
	if t.IsZero() {
		v.addf(p, "required")
	}
}

// checkDigestRef checks an image pinned by digest ("repo@sha256:<hex>").
func checkDigestRef(v *validator, p, ref string, required bool) {
	if ref == "" {
		if required {
			v.addf(p, "required")
		}
		return
	}
	if msg := digestRefProblem(ref); msg != "" {
		v.addf(p, "%s", msg)
	}
}

// checkImageRef checks an image reference (tag or digest).
func checkImageRef(v *validator, p, ref string) {
	if ref == "" {
		return
	}
	if msg := imageRefProblem(ref); msg != "" {
		v.addf(p, "%s", msg)
	}
}

// checkSHA256 checks a hex-encoded sha256 sum.
func checkSHA256(v *validator, p, sum string, required bool) {
	if sum == "" {
		if required {
			v.addf(p, "required")
		}
		return
	}
	if !sha256HexRegexp.MatchString(sum) {
		v.addf(p, "must be 64 lowercase hexadecimal characters")
	}
}

// checkFlinkJobID checks a Flink job id: 32 lowercase hex characters.
func checkFlinkJobID(v *validator, p, id string) {
	if id != "" && !flinkJobIDRegexp.MatchString(id) {
		v.addf(p, "must be 32 lowercase hexadecimal characters")
	}
}

// checkReasonCode checks a machine-readable reason: snake_case, at most 64
// characters.
func checkReasonCode(v *validator, p, reason string, required bool) {
	switch {
	case reason == "":
		if required {
			v.addf(p, "required")
		}
	case len(reason) > maxReasonLength:
		v.addf(p, "must be at most %d characters, got %d", maxReasonLength, len(reason))
	case !reasonRegexp.MatchString(reason):
		v.addf(p, "must be a snake_case machine code such as artifact_not_found")
	}
}

// checkMessage checks a human-readable message of at most 32 KiB.
func checkMessage(v *validator, p, msg string, required bool) {
	switch {
	case strings.TrimSpace(msg) == "":
		if required {
			v.addf(p, "required")
		}
	case len(msg) > maxMessageBytes:
		v.addf(p, "must be at most %d bytes, got %d", maxMessageBytes, len(msg))
	}
}

// checkHTTPURL checks an absolute http or https URL with a host, without
// credentials (they would end up in logs), of at most max bytes.
func checkHTTPURL(v *validator, p, raw string, max int) {
	if raw == "" {
		return
	}
	if len(raw) > max {
		v.addf(p, "must be at most %d characters, got %d", max, len(raw))
		return
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		// The url.Error text repeats the URL, credentials included: keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		v.addf(p, "must be a URL: %s", oneLine(err.Error()))
	case u.Scheme != "http" && u.Scheme != "https":
		v.addf(p, "must be an absolute http or https URL")
	case u.Host == "" || u.Hostname() == "":
		v.addf(p, "must have a host")
	case u.User != nil:
		v.addf(p, "must not contain credentials: configure them in the workers")
	}
}

// checkLabels checks user labels: at most 32, Kubernetes label keys and
// values, none of the keys Flink uses for its own selectors.
func checkLabels(v *validator, p string, labels map[string]string) {
	if len(labels) > maxLabels {
		v.addf(p, "must have at most %d entries, got %d", maxLabels, len(labels))
		return
	}
	for k, val := range labels {
		kp := key(p, k)
		for _, msg := range content.IsLabelKey(k) {
			v.addf(kp, "invalid key: %s", msg)
		}
		if slices.Contains(reservedLabels, k) {
			v.addf(kp, "key is reserved: Flink and flinkferry set it on the cluster's objects")
		}
		for _, msg := range content.IsLabelValue(val) {
			v.addf(kp, "invalid value: %s", msg)
		}
	}
}

// checkObjectUIDs checks Deployed.ObjectUIDs: keys "<Kind>/<name>", values
// non-empty UIDs.
func checkObjectUIDs(v *validator, p string, uids map[string]string) {
	for k, uid := range uids {
		kp := key(p, k)
		kind, name, ok := strings.Cut(k, "/")
		switch {
		case !ok || !kindRegexp.MatchString(kind):
			v.addf(kp, "key must be <Kind>/<name>, e.g. Deployment/wordcount")
		case len(validation.IsDNS1123Subdomain(name)) > 0:
			v.addf(kp, "key must be <Kind>/<name> with a Kubernetes object name")
		}
		switch {
		case uid == "":
			v.addf(kp, "uid required")
		case len(uid) > 128:
			v.addf(kp, "uid must be at most 128 characters")
		}
	}
}
