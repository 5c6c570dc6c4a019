package cli

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
)

// progress shows the stages of a wait: plain lines, or on a terminal a
// live spinner line per stage with its elapsed time.
type progress interface {
	// start begins a stage.
	start(stage string)
	// done ends the current stage with a success line.
	done(line string)
	// fail ends the current stage with a failure line.
	fail(line string)
	// stop ends the display.
	stop()
}

// newProgress returns a spinner on a terminal, plain lines otherwise.
func newProgress(w io.Writer) progress {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return newSpinner(f)
	}
	return &plainProgress{w: w}
}

// plainProgress prints one line per finished stage, for logs and pipes.
type plainProgress struct {
	w io.Writer
}

func (p *plainProgress) start(string) {}

func (p *plainProgress) done(line string) { fmt.Fprintln(p.w, line) }

func (p *plainProgress) fail(line string) { fmt.Fprintln(p.w, line) }

func (p *plainProgress) stop() {}

// spinner redraws the current stage's line every 100 ms.
type spinner struct {
	w     io.Writer
	lines chan spinnerMsg
	quit  chan struct{}
	ended chan struct{}
}

type spinnerMsg struct {
	kind string // start, done, fail
	text string
}

func newSpinner(w io.Writer) *spinner {
	s := &spinner{w: w, lines: make(chan spinnerMsg), quit: make(chan struct{}), ended: make(chan struct{})}
	go s.loop()
	return s
}

func (s *spinner) loop() {
	defer close(s.ended)
	frames := []rune("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	stage, since, i := "", time.Now(), 0
	draw := func() {
		if stage != "" {
			fmt.Fprintf(s.w, "\r\033[K%c %s %s", frames[i%len(frames)], stage, time.Since(since).Round(100*time.Millisecond))
		}
	}
	for {
		select {
		case m := <-s.lines:
			switch m.kind {
			case "start":
				stage, since = m.text, time.Now()
			case "done", "fail":
				mark := "✓"
				if m.kind == "fail" {
					mark = "✗"
				}
				fmt.Fprintf(s.w, "\r\033[K%s %s [%s]\n", mark, m.text, time.Since(since).Round(100*time.Millisecond))
				stage = ""
			}
			draw()
		case <-tick.C:
			i++
			draw()
		case <-s.quit:
			if stage != "" {
				fmt.Fprint(s.w, "\r\033[K")
			}
			return
		}
	}
}

func (s *spinner) start(stage string) { s.lines <- spinnerMsg{"start", stage} }
func (s *spinner) done(line string)   { s.lines <- spinnerMsg{"done", line} }
func (s *spinner) fail(line string)   { s.lines <- spinnerMsg{"fail", line} }
func (s *spinner) stop() {
	select {
	case <-s.ended:
	default:
		close(s.quit)
		<-s.ended
	}
}
