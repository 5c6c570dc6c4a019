package logging

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

// truncatedMarker is appended to a cut string, with its original length.
const truncatedMarker = "…[truncated; "

// Truncate returns s when it fits in max bytes, and otherwise its longest
// prefix that ends on a rune boundary followed by a marker giving the
// original length ("…[truncated; 5800000 bytes in all]"), the whole at most
// max bytes. With max too small for the marker, the prefix alone is
// returned. Use it for any text that comes from a message or an error
// before it goes to a header or a log line.
func Truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	if max <= 0 {
		return ""
	}
	marker := markerFor(len(s))
	if len(marker) >= max {
		return s[:runeStart(s, max)]
	}
	return s[:runeStart(s, max-len(marker))] + marker
}

func markerFor(n int) string {
	return truncatedMarker + strconv.Itoa(n) + " bytes in all]"
}

// runeStart returns the largest i <= n where a rune of s starts.
func runeStart(s string, n int) int {
	for n > 0 && n < len(s) && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}

// escapedLen is an upper bound of the bytes s takes once escaped and
// quoted by slog's JSON or text handler: quotes and backslashes double,
// control characters and invalid bytes become \u00XX or \xXX, other
// non-printable runes \uXXXX or \UXXXXXXXX.
func escapedLen(s string) int {
	n := 2 // the quotes
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		n += runeCost(r, size)
		i += size
	}
	return n
}

func runeCost(r rune, size int) int {
	switch {
	case r == utf8.RuneError && size == 1:
		return 6
	case r < 0x20 || r == 0x7f:
		return 6
	case r == '"' || r == '\\':
		return 2
	case r < utf8.RuneSelf:
		return 1
	case !unicode.IsPrint(r):
		return 10
	default:
		return size
	}
}

// truncateEscaped is Truncate for a budget of escaped bytes (escapedLen):
// the result's escapedLen is at most max.
func truncateEscaped(s string, max int) string {
	if escapedLen(s) <= max {
		return s
	}
	marker := markerFor(len(s))
	budget := max - escapedLen(marker)
	if budget <= 2 {
		return ""
	}
	n, i := 2, 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		c := runeCost(r, size)
		if n+c > budget {
			break
		}
		n += c
		i += size
	}
	return s[:i] + marker
}
