package flinkrest

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// Flink writes Long.MAX_VALUE for "never" (a disabled checkpoint
// interval, an unbounded timeout).
const javaLongMax = math.MaxInt64

// jsonInt is an integer as Flink may write it: a number, a numeric string,
// "NaN" or null. Anything it cannot read is 0, never an error.
type jsonInt int64

// UnmarshalJSON implements json.Unmarshaler.
func (n *jsonInt) UnmarshalJSON(b []byte) error {
	*n = jsonInt(parseInt(b))
	return nil
}

// jsonFloat is a floating-point number as Flink's Jackson writes a Java
// double: a number or one of the strings "NaN", "Infinity", "-Infinity".
// Anything it cannot read is NaN, never an error.
type jsonFloat float64

// UnmarshalJSON implements json.Unmarshaler.
func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	*f = jsonFloat(parseFloat(b))
	return nil
}

// unquote returns the text of a JSON scalar: a string without its quotes
// (numbers in strings have no escapes), anything else as it is.
func unquote(b []byte) string {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		return strings.TrimSpace(string(b[1 : len(b)-1]))
	}
	return string(b)
}

func parseInt(b []byte) int64 {
	if v, ok := plainInt(b); ok {
		return v
	}
	s := unquote(b)
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v
	}
	f, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil && f == 0, math.IsNaN(f):
		return 0
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return int64(f)
}

func parseFloat(b []byte) float64 {
	s := unquote(b)
	switch s {
	case "Infinity", "+Infinity":
		return math.Inf(1)
	case "-Infinity":
		return math.Inf(-1)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && f == 0 {
		return math.NaN()
	}
	return f
}

// millisTime turns Flink's epoch milliseconds into a time; 0, -1 (not
// yet, as end-time of a running job) and other negative values are the
// zero time.
func millisTime(ms jsonInt) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(ms)).UTC()
}

// millisDuration turns Flink's milliseconds into a duration; negative
// (unknown) is 0.
func millisDuration(ms jsonInt) time.Duration {
	if ms <= 0 {
		return 0
	}
	if int64(ms) > int64(math.MaxInt64/time.Millisecond) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(ms) * time.Millisecond
}

// interval is millisDuration where Long.MAX_VALUE (and anything beyond a
// hundred years) means "disabled", returned as 0.
func interval(ms jsonInt) time.Duration {
	if ms == javaLongMax || int64(ms) > int64(100*365*24*time.Hour/time.Millisecond) {
		return 0
	}
	return millisDuration(ms)
}

// TaskCounts counts a job's or vertex's tasks per execution state.
type TaskCounts struct {
	Created, Scheduled, Deploying, Running, Finished, Canceling, Canceled, Failed, Reconciling, Initializing int
	// Total is Flink's total (in /jobs/overview), else the sum of the
	// others.
	Total int
}

// taskCountsJSON reads task counts whatever the case of their keys
// (encoding/json matches field names case-insensitively): Flink writes
// them lower-case in /jobs/overview and upper-case in /jobs/{jobid}.
type taskCountsJSON struct {
	Created      jsonInt  `json:"created"`
	Scheduled    jsonInt  `json:"scheduled"`
	Deploying    jsonInt  `json:"deploying"`
	Running      jsonInt  `json:"running"`
	Finished     jsonInt  `json:"finished"`
	Canceling    jsonInt  `json:"canceling"`
	Canceled     jsonInt  `json:"canceled"`
	Failed       jsonInt  `json:"failed"`
	Reconciling  jsonInt  `json:"reconciling"`
	Initializing jsonInt  `json:"initializing"`
	Total        *jsonInt `json:"total"`
}

func (w *taskCountsJSON) counts() TaskCounts {
	c := TaskCounts{
		Created: int(w.Created), Scheduled: int(w.Scheduled), Deploying: int(w.Deploying), Running: int(w.Running),
		Finished: int(w.Finished), Canceling: int(w.Canceling), Canceled: int(w.Canceled), Failed: int(w.Failed),
		Reconciling: int(w.Reconciling), Initializing: int(w.Initializing),
	}
	if w.Total != nil {
		c.Total = int(*w.Total)
	} else {
		c.Total = c.Created + c.Scheduled + c.Deploying + c.Running + c.Finished + c.Canceling + c.Canceled + c.Failed + c.Reconciling + c.Initializing
	}
	return c
}

// jsonString is a string that Flink may also write as a number or a
// boolean (kept as written) or null (empty).
type jsonString string

// UnmarshalJSON implements json.Unmarshaler.
func (s *jsonString) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) > 0 && b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = jsonString(v)
	case string(b) == "null":
		*s = ""
	default:
		*s = jsonString(b)
	}
	return nil
}

// plainInt parses an optionally negative decimal integer of at most 18
// digits without allocating: the common case.
func plainInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}
