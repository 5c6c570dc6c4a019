package main

import (
	"math"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	// Fields after the command: state ppid pgrp session tty tpgid flags
	// minflt cminflt majflt cmajflt utime stime ...
	const rest = " S 1 2 3 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0 12345 1000000 500"
	for _, tc := range []struct {
		name, stat string
		want       time.Duration
		wantErr    bool
	}{
		{name: "plain", stat: "4242 (trackbench)" + rest, want: 3250 * time.Millisecond},
		{name: "spaces and parentheses in the command", stat: "4242 (a b) (c)" + rest, want: 3250 * time.Millisecond},
		{name: "no command", stat: "4242 trackbench S 1", wantErr: true},
		{name: "truncated", stat: "4242 (x) S 1 2 3", wantErr: true},
		{name: "not a number", stat: "4242 (x) S 1 2 3 0 -1 4194560 100 0 0 0 x 75", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatCPU(tc.stat)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseStatCPU() error = %v, want error %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("parseStatCPU() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseStatusKB(t *testing.T) {
	const status = "Name:\ttrackbench\nVmPeak:\t  800000 kB\nVmHWM:\t   24576 kB\nVmRSS:\t   20000 kB\n"
	for _, tc := range []struct {
		name, status, field string
		want                int64
		wantErr             bool
	}{
		{name: "VmHWM", status: status, field: "VmHWM", want: 24576 * 1024},
		{name: "MemTotal", status: "MemTotal:       24683620 kB\nMemFree: 1 kB\n", field: "MemTotal", want: 24683620 * 1024},
		{name: "missing", status: status, field: "VmSwap", wantErr: true},
		{name: "no unit", status: "VmHWM: 12\n", field: "VmHWM", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatusKB(tc.status, tc.field)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseStatusKB() error = %v, want error %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("parseStatusKB() = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestProcOfThisProcess reads the real /proc files of the test process.
func TestProcOfThisProcess(t *testing.T) {
	deadline := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(deadline) {
	}
	cpu, err := cpuTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if cpu <= 0 {
		t.Errorf("cpuTime() = %v after 50 ms of spinning, want > 0", cpu)
	}
	rss, err := peakRSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if rss < 1<<20 {
		t.Errorf("peakRSS() = %d, want at least 1 MiB", rss)
	}
}

func TestParseInfoInt(t *testing.T) {
	info := "# Stats\r\ntotal_connections_received:7\r\ntotal_commands_processed:123456\r\ninstantaneous_ops_per_sec:3\r\n"
	got, err := parseInfoInt(info, "total_commands_processed")
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(123456); got != want {
		t.Errorf("parseInfoInt() = %d, want %d", got, want)
	}
	if _, err := parseInfoInt(info, "total_net_input_bytes"); err == nil {
		t.Error("parseInfoInt() of a missing field: no error")
	}
}

func TestPercentile(t *testing.T) {
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[i] = float64(100 - i) // 100 .. 1, unsorted
	}
	for _, tc := range []struct {
		name string
		xs   []float64
		p    float64
		want float64
	}{
		{name: "p50 of 1..100", xs: hundred, p: 50, want: 50},
		{name: "p99 of 1..100", xs: hundred, p: 99, want: 99},
		{name: "p100", xs: []float64{3, 1, 2}, p: 100, want: 3},
		{name: "one value", xs: []float64{7}, p: 1, want: 7},
		{name: "p50 of four", xs: []float64{4, 1, 3, 2}, p: 50, want: 2},
		{name: "never polled sorts last", xs: []float64{math.Inf(1), 1, 2, 3}, p: 99, want: math.Inf(1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(append([]float64(nil), tc.xs...), tc.p); got != tc.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tc.xs, tc.p, got, tc.want)
			}
		})
	}
	if got := percentile(nil, 50); !math.IsNaN(got) {
		t.Errorf("percentile(nil) = %v, want NaN", got)
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{
		{xs: []float64{3, 1, 2}, want: 2},
		{xs: []float64{4, 1, 3, 2}, want: 2.5},
		{xs: []float64{5}, want: 5},
	} {
		xs := append([]float64(nil), tc.xs...)
		if got := median(xs); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.xs, got, tc.want)
		}
		if xs[0] != tc.xs[0] {
			t.Errorf("median(%v) reordered its input", tc.xs)
		}
	}
}

func TestAges(t *testing.T) {
	now := time.UnixMilli(10_000)
	got := ages(now, []int64{9_000, 0, 10_000})
	want := []float64{1, math.Inf(1), 0}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("ages()[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestClusterBase(t *testing.T) {
	sims := []string{"127.0.0.1:4242", "127.0.0.1:4343"}
	if got, want := clusterBase(sims, 7, true), "http://jm00007."+simHost+":4343"; got != want {
		t.Errorf("clusterBase(per host) = %q, want %q", got, want)
	}
	if got, want := clusterBase(sims, 8, false), "http://127.0.0.1:4242/c/jm00008"; got != want {
		t.Errorf("clusterBase(shared) = %q, want %q", got, want)
	}
	if got := jobID(7); len(got) != 32 {
		t.Errorf("jobID(7) = %q, want 32 hex characters", got)
	}
}

// TestSimResolver resolves JobManager host names through Go's resolver
// and the in-process answerer.
func TestSimResolver(t *testing.T) {
	useSimResolver()
	addrs, err := net.DefaultResolver.LookupHost(t.Context(), "jm00042."+simHost)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(addrs, ","), "127.0.0.11"; got != want { // 1 + 42 mod 16
		t.Errorf("LookupHost() = %s, want %s", got, want)
	}
	if _, err := net.DefaultResolver.LookupHost(t.Context(), "jm00042.example.invalid"); err == nil {
		t.Error("LookupHost() of another domain succeeded, want an error")
	}
}
