// Command benchtable turns `go test -bench` output (read on stdin) into a
// markdown table: the median of each benchmark over its -count runs, its
// custom metrics, and its time relative to a baseline of the same group.
//
// Sub-benchmarks are grouped by every name component except the one named
// -key (default "method="); the baseline is the member whose -key value is
// -baseline (default "raw").
//
//	go test -run '^$' -bench Push -count 3 ./workers/build | go run ./hack/benchtable
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

type result struct {
	name    string
	group   string
	variant string
	metrics map[string][]float64
	order   []string
}

var (
	benchLine = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+\d+\s+(.*)$`)
	gomaxproc = regexp.MustCompile(`-\d+$`)
)

func main() {
	key := flag.String("key", "method=", "name component that varies within a group")
	baseline := flag.String("baseline", "raw", "value of -key to compare against")
	flag.Parse()
	if err := run(os.Stdin, os.Stdout, *key, *baseline); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer, key, baseline string) error {
	results := map[string]*result{}
	var names []string
	var header []string
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "cpu:") || strings.HasPrefix(line, "goos:") || strings.HasPrefix(line, "goarch:") {
			header = append(header, line)
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		name := gomaxproc.ReplaceAllString(m[1], "")
		r, ok := results[name]
		if !ok {
			r = &result{name: name, metrics: map[string][]float64{}}
			r.group, r.variant = split(name, key)
			results[name] = r
			names = append(names, name)
		}
		f := strings.Fields(m[3])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			unit := f[i+1]
			if _, seen := r.metrics[unit]; !seen {
				r.order = append(r.order, unit)
			}
			r.metrics[unit] = append(r.metrics[unit], v)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(names) == 0 {
		return fmt.Errorf("no benchmark lines on stdin")
	}
	for _, h := range header {
		fmt.Fprintf(out, "%s  \n", h)
	}
	fmt.Fprintln(out)
	fmt.Fprintln(out, "| benchmark | runs | median time | other metrics (median) | vs "+baseline+" |")
	fmt.Fprintln(out, "|---|---|---|---|---|")
	for _, n := range names {
		r := results[n]
		ns := median(r.metrics["ns/op"])
		var others []string
		for _, u := range r.order {
			if u == "ns/op" {
				continue
			}
			others = append(others, fmt.Sprintf("%s %s", trim(median(r.metrics[u])), u))
		}
		ratio := ""
		if b, ok := results[join(r.group, key+baseline)]; ok && r.variant != "" {
			ratio = fmt.Sprintf("%.2f×", ns/median(b.metrics["ns/op"]))
		}
		fmt.Fprintf(out, "| %s | %d | %s | %s | %s |\n", n, len(r.metrics["ns/op"]), duration(ns), strings.Join(others, ", "), ratio)
	}
	return nil
}

// split separates the -key component from the rest of a benchmark name.
func split(name, key string) (group, variant string) {
	parts := strings.Split(name, "/")
	var rest []string
	for _, p := range parts {
		if strings.HasPrefix(p, key) {
			variant = p
			rest = append(rest, "\x00")
			continue
		}
		rest = append(rest, p)
	}
	return strings.Join(rest, "/"), variant
}

func join(group, variant string) string { return strings.Replace(group, "\x00", variant, 1) }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func duration(ns float64) string {
	switch {
	case ns == 0:
		return "-" // the benchmark times its parts itself (see its metrics)
	case ns >= 1e9:
		return fmt.Sprintf("%.3f s", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.1f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

func trim(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
