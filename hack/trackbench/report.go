package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// printTable writes the medians over rounds of each method and job count,
// in the order of methods, as a markdown table.
func printTable(w io.Writer, results []runResult, order []string) {
	type key struct {
		method string
		jobs   int
	}
	groups := map[key][]runResult{}
	var jobs []int
	for _, r := range results {
		k := key{r.method, r.jobs}
		groups[k] = append(groups[k], r)
		if !slices.Contains(jobs, r.jobs) {
			jobs = append(jobs, r.jobs)
		}
	}
	med := medianOf[runResult]
	fmt.Fprintln(w, "| method | jobs | CPU cores (avg) | CPU / "+baseline+" | busiest replica | peak RSS | staleness p50 | staleness p99 | Redis ops/s | Redis CPU | requests/s |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
	for _, n := range jobs {
		base := med(groups[key{baseline, n}], func(r runResult) float64 { return r.cpu })
		for _, m := range order {
			rs := groups[key{m, n}]
			if len(rs) == 0 {
				continue
			}
			cpu := med(rs, func(r runResult) float64 { return r.cpu })
			ratio := "-"
			if !math.IsNaN(base) && base > 0 {
				ratio = fmt.Sprintf("%.2f×", cpu/base)
			}
			fmt.Fprintf(w, "| %s | %d | %.3f | %s | %.3f | %.0f MiB | %s | %s | %.0f | %.3f | %.0f |\n",
				m, n, cpu, ratio, med(rs, func(r runResult) float64 { return r.busiest }),
				med(rs, func(r runResult) float64 { return r.rssMiB }),
				seconds(med(rs, func(r runResult) float64 { return r.p50 })),
				seconds(med(rs, func(r runResult) float64 { return r.p99 })),
				med(rs, func(r runResult) float64 { return r.redisOps }),
				med(rs, func(r runResult) float64 { return r.redisCPU }),
				med(rs, func(r runResult) float64 { return r.requests }))
		}
	}
	// The worker also reads checkpoints: compare it with the bare loop
	// doing the same requests.
	for _, n := range jobs {
		same := med(groups[key{"bare-host-cp", n}], func(r runResult) float64 { return r.cpu })
		for _, m := range order {
			if rs := groups[key{m, n}]; strings.HasPrefix(m, "worker") && len(rs) > 0 && same > 0 {
				fmt.Fprintf(w, "\n%s / bare-host-cp (same requests), %d jobs: %.2f×", m, n, med(rs, func(r runResult) float64 { return r.cpu })/same)
			}
		}
	}
	fmt.Fprintln(w)
}

// seconds formats a staleness; +Inf means some job was never polled.
func seconds(s float64) string {
	if math.IsInf(s, 1) {
		return "never polled"
	}
	return fmt.Sprintf("%.2f s", s)
}

// printModeRatios prints, for each worker method and job count, the
// medians on each deployment as ratios to the same method on a single
// Redis: worker CPU, Redis CPU (every server holding data), Redis ops/s
// (masters) and staleness.
func printModeRatios(w io.Writer, results []runResult, c benchConfig) {
	med := medianOf[runResult]
	of := func(label string, n int) []runResult {
		var out []runResult
		for _, r := range results {
			if r.method == label && r.jobs == n {
				out = append(out, r)
			}
		}
		return out
	}
	ratio := func(a, b float64) string {
		if b <= 0 || math.IsNaN(a) || math.IsNaN(b) || math.IsInf(a, 0) || math.IsInf(b, 0) {
			return "-"
		}
		return fmt.Sprintf("%.2f×", a/b)
	}
	fmt.Fprintln(w, "\n| method | jobs | Redis | worker CPU | Redis CPU | Redis ops/s | staleness p50 | staleness p99 |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, n := range c.jobs {
		for _, m := range c.methods {
			base := of(c.label(m, "single"), n)
			for _, mode := range c.modes {
				rs := of(c.label(m, mode), n)
				if len(rs) == 0 || len(base) == 0 {
					continue
				}
				col := func(f func(runResult) float64) string { return ratio(med(rs, f), med(base, f)) }
				fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %s | %s |\n", m, n, mode,
					col(func(r runResult) float64 { return r.cpu }),
					col(func(r runResult) float64 { return r.redisCPU }),
					col(func(r runResult) float64 { return r.redisOps }),
					col(func(r runResult) float64 { return r.p50 }),
					col(func(r runResult) float64 { return r.p99 }))
			}
		}
	}
}
