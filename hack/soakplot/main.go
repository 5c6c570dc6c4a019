// Command soakplot draws the samples of the fault suite's soak test
// (test/faults, FLINKFERRY_FAULTS_OUT=dir writes dir/soak.csv) as one PNG
// per measure: resident memory, goroutines and open files per worker,
// Redis' used memory, the consumer lag.
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

// measures are the charts drawn: a file name, a title, the series suffix
// selecting its lines and the unit the values are divided into.
var measures = []struct {
	file, title, suffix, unit string
	div                       float64
}{
	{"soak-rss.png", "Resident memory per worker", " rss_bytes", "MiB", 1 << 20},
	{"soak-goroutines.png", "Goroutines per worker", " goroutines", "goroutines", 1},
	{"soak-fds.png", "Open files per worker", " open_fds", "files", 1},
	{"soak-redis.png", "Redis used memory", "redis used_memory", "MiB", 1 << 20},
	{"soak-lag.png", "Consumer lag (build, submit, track groups)", "kafka lag", "messages", 1},
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
		for n := range series {
			if strings.HasSuffix(n, m.suffix) {
				names = append(names, n)
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
			p.Legend.Add(strings.TrimSuffix(n, m.suffix), l)
		}
		p.Legend.Left = true
		if err := p.Save(8*vg.Inch, 4*vg.Inch, filepath.Join(out, m.file)); err != nil {
			return fmt.Errorf("drawing %s: %w", m.file, err)
		}
	}
	return nil
}
