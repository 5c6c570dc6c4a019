package jobstore

import (
	"net/url"
	"regexp"
	"unicode/utf8"
)

// Limits of stored texts.
const (
	// maxMessage caps a transition's message and a checkpoint failure.
	maxMessage = 4 << 10
	// maxLastError caps Job.LastError.
	maxLastError = 1 << 10
	// maxCode caps states and reasons (the message contract's limit).
	maxCode = 64
)

var (
	statePattern  = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	reasonPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	// userinfoInText finds the user information of URLs inside free text
	// (error messages quote URLs).
	userinfoInText = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s@]*@`)
)

// stripUserinfo returns u without user information (user:password@);
// a URL that does not parse is redacted like free text.
func stripUserinfo(u string) string {
	if u == "" {
		return ""
	}
	p, err := url.Parse(u)
	if err != nil {
		return redact(u)
	}
	if p.User == nil {
		return u
	}
	p.User = nil
	return p.String()
}

// redact removes the user information of every URL in s.
func redact(s string) string {
	return userinfoInText.ReplaceAllString(s, "${1}")
}

// capText cuts s to at most n bytes on a UTF-8 boundary.
func capText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
