package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRunComputesMediansAndRatios(t *testing.T) {
	in := `cpu: Test CPU
BenchmarkPush/size=64MiB/method=raw-2         	       3	 300000000 ns/op	 200.00 MB/s
BenchmarkPush/size=64MiB/method=raw-2         	       3	 100000000 ns/op	 600.00 MB/s
BenchmarkPush/size=64MiB/method=raw-2         	       3	 200000000 ns/op	 300.00 MB/s
BenchmarkPush/size=64MiB/method=crane-2       	       3	 400000000 ns/op	 150.00 MB/s
noise line
`
	var out bytes.Buffer
	if err := run(strings.NewReader(in), &out, "method=", "raw"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| BenchmarkPush/size=64MiB/method=raw | 3 | 200.0 ms | 300 MB/s | 1.00× |",
		"| BenchmarkPush/size=64MiB/method=crane | 1 | 400.0 ms | 150 MB/s | 2.00× |",
		"cpu: Test CPU",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRunFailsWithoutBenchmarks(t *testing.T) {
	if err := run(strings.NewReader("PASS\n"), &bytes.Buffer{}, "method=", "raw"); err == nil {
		t.Error("run() = nil, want an error")
	}
}
