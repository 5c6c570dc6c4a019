package flinksim_test

import (
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/flinksim"
)

func TestManualClock(t *testing.T) {
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	c := flinksim.NewManualClock(start)
	tests := []struct {
		name string
		op   func()
		want time.Time
	}{
		{"start", func() {}, start},
		{"advance", func() { c.Advance(90 * time.Second) }, start.Add(90 * time.Second)},
		{"negative advance ignored", func() { c.Advance(-time.Hour) }, start.Add(90 * time.Second)},
		{"set forward", func() { c.Set(start.Add(time.Hour)) }, start.Add(time.Hour)},
		{"set backward ignored", func() { c.Set(start) }, start.Add(time.Hour)},
	}
	for _, tc := range tests {
		tc.op()
		if got := c.Now(); !got.Equal(tc.want) {
			t.Fatalf("%s: Now() = %v, want %v", tc.name, got, tc.want)
		}
	}
	if got := flinksim.NewManualClock(time.Time{}).Now(); got.IsZero() {
		t.Errorf("NewManualClock(zero).Now() is zero")
	}
	if d := time.Since(flinksim.RealClock().Now()); d < 0 || d > time.Second {
		t.Errorf("RealClock is off by %v", d)
	}
}
