package flinkrest

import (
	"math"
	"testing"
	"time"
)

func TestLenientNumbers(t *testing.T) {
	for _, tt := range []struct {
		in    string
		i     int64
		f     float64 // NaN compared as NaN
		isNaN bool
	}{
		{in: `12`, i: 12, f: 12},
		{in: `-1`, i: -1, f: -1},
		{in: `"12"`, i: 12, f: 12},
		{in: `12.75`, i: 12, f: 12.75},
		{in: `1e3`, i: 1000, f: 1000},
		{in: `9223372036854775807`, i: math.MaxInt64, f: 9223372036854775807},
		{in: `"NaN"`, i: 0, isNaN: true},
		{in: `"Infinity"`, i: math.MaxInt64, f: math.Inf(1)},
		{in: `"-Infinity"`, i: math.MinInt64, f: math.Inf(-1)},
		{in: `null`, i: 0, isNaN: true},
		{in: `true`, i: 0, isNaN: true},
		{in: `{"a":1}`, i: 0, isNaN: true},
		{in: `"garbage"`, i: 0, isNaN: true},
	} {
		if got := parseInt([]byte(tt.in)); got != tt.i {
			t.Errorf("parseInt(%s) = %d, want %d", tt.in, got, tt.i)
		}
		got := parseFloat([]byte(tt.in))
		if tt.isNaN != math.IsNaN(got) || (!tt.isNaN && got != tt.f) {
			t.Errorf("parseFloat(%s) = %v, want %v (NaN %v)", tt.in, got, tt.f, tt.isNaN)
		}
	}
}

func TestMillis(t *testing.T) {
	if !millisTime(-1).IsZero() || !millisTime(0).IsZero() {
		t.Error("-1 and 0 must be the zero time")
	}
	if got, want := millisTime(1717200000000), time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("millisTime = %v, want %v", got, want)
	}
	if got := interval(math.MaxInt64); got != 0 {
		t.Errorf("interval(Long.MAX_VALUE) = %v, want 0 (disabled)", got)
	}
	if got := interval(60000); got != time.Minute {
		t.Errorf("interval(60000) = %v, want 1m", got)
	}
	if got := millisDuration(-1); got != 0 {
		t.Errorf("millisDuration(-1) = %v, want 0", got)
	}
}
