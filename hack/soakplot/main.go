// Command soakplot draws the samples of the fault suite's soak test
// (test/faults, FLINKFERRY_FAULTS_OUT=dir writes dir/soak.csv) as one PNG
// per measure: resident memory, goroutines and open files per worker,
// Redis' memory in all and per key class, the consumer lag and the track
// workers' outboxes.
//
//	go run -C hack/soakplot . -in ../../docs/reliability/soak.csv -out ../../docs/reliability
package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"image/color"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// measures are the charts drawn: a file name, a title, which series it
// draws (and the part of their names the legend leaves out) and the unit
// the values are divided into.
var measures = []struct {
	file, title string
	match       func(series string) (legend string, ok bool)
	unit        string
	div         float64
}{
	{"soak-rss.png", "Resident memory per worker", suffix(" rss_bytes"), "MiB", 1 << 20},
	{"soak-goroutines.png", "Goroutines per worker", suffix(" goroutines"), "goroutines", 1},
	{"soak-fds.png", "Open files per worker", suffix(" open_fds"), "files", 1},
	{"soak-redis.png", "Redis memory (INFO memory)", prefix("redis used_memory", "redis mem_clients"), "MiB", 1 << 20},
	{"soak-redis-keys.png", "Redis memory per key class (MEMORY USAGE)", prefix("redis class "), "MiB", 1 << 20},
	{"soak-lag.png", "Waiting: consumer lag (build, submit, track) and track outboxes", prefix("kafka lag", "redis outbox entries"), "messages", 1},
}

// suffix selects the series ending in s, named without it.
func suffix(s string) func(string) (string, bool) {
	return func(n string) (string, bool) {
		return strings.TrimSuffix(n, s), strings.HasSuffix(n, s)
	}
}

// prefix selects the series starting with one of ps, named without
// "redis " (or without the prefix when it ends in a space).
func prefix(ps ...string) func(string) (string, bool) {
	return func(n string) (string, bool) {
		for _, p := range ps {
			if strings.HasPrefix(n, p) {
				if strings.HasSuffix(p, " ") {
					return strings.TrimPrefix(n, p), true
				}
				return strings.TrimPrefix(n, "redis "), true
			}
		}
		return "", false
	}
}

func main() {
	in := flag.String("in", "soak.csv", "samples written by the soak test")
	out := flag.String("out", ".", "directory of the PNG files")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		log.Fatal(err)
	}
}

func run(in, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return fmt.Errorf("reading %s: %w", in, err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	series := map[string]plotter.XYs{}
	for i, r := range rows {
		if i == 0 || len(r) != 3 {
			continue
		}
		x, err1 := strconv.ParseFloat(r[0], 64)
		y, err2 := strconv.ParseFloat(r[2], 64)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("%s line %d: not numbers: %v", in, i+1, r)
		}
		series[r[1]] = append(series[r[1]], plotter.XY{X: x / 60, Y: y})
	}
	for _, m := range measures {
		p := plot.New()
		p.Title.Text = m.title
		p.X.Label.Text = "minutes"
		p.Y.Label.Text = m.unit
		p.Y.Min = 0
		var names []string
		legend := map[string]string{}
		for n := range series {
			if l, ok := m.match(n); ok {
				names = append(names, n)
				legend[n] = l
			}
		}
		if len(names) == 0 {
			continue
		}
		slices.Sort(names)
		for i, n := range names {
			pts := slices.Clone(series[n])
			for j := range pts {
				pts[j].Y /= m.div
			}
			l, err := plotter.NewLine(pts)
			if err != nil {
				return err
			}
			l.Color = plotutil.Color(i)
			l.Width = vg.Points(1.5)
			if i >= 7 {
				l.Color = color.Gray{Y: uint8(40 * (i - 6))}
			}
			p.Add(l)
			p.Legend.Add(legend[n], l)
		}
		p.Legend.Left = true
		if err := p.Save(8*vg.Inch, 4*vg.Inch, filepath.Join(out, m.file)); err != nil {
			return fmt.Errorf("drawing %s: %w", m.file, err)
		}
	}
	return nil
}
