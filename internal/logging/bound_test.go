package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncate(t *testing.T) {
	tests := []struct {
		name string
		s    string
		max  int
		want string
	}{
		{"fits", "hello", 5, "hello"},
		{"empty", "", 0, ""},
		{"cut with marker", strings.Repeat("a", 100), 40, strings.Repeat("a", 40-len(markerFor(100))) + markerFor(100)},
		{"too small for the marker", strings.Repeat("a", 100), 10, strings.Repeat("a", 10)},
		{"zero", "abc", 0, ""},
		// "é" is two bytes: the cut never splits it.
		{"rune boundary", strings.Repeat("é", 50), 41, strings.Repeat("é", (41-len(markerFor(100)))/2) + markerFor(100)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Truncate(tt.s, tt.max)
			if got != tt.want {
				t.Errorf("Truncate(%d bytes, %d) = %q, want %q", len(tt.s), tt.max, got, tt.want)
			}
			if len(got) > tt.max {
				t.Errorf("len = %d, want <= %d", len(got), tt.max)
			}
			if utf8.ValidString(tt.s) && !utf8.ValidString(got) {
				t.Errorf("cut inside a rune: %q", got)
			}
		})
	}
	if got := Truncate(strings.Repeat("x", 5_800_000), 4096); !strings.HasSuffix(got, "[truncated; 5800000 bytes in all]") || len(got) > 4096 {
		t.Errorf("Truncate(5.8 MB) = ...%q (%d bytes), want the original length at the end", got[len(got)-40:], len(got))
	}
}

// TestTruncateEscapedBound checks the escaped-length bound on hostile text.
func TestTruncateEscapedBound(t *testing.T) {
	hostile := []string{
		strings.Repeat("\x00", 10_000),
		strings.Repeat(`"\`, 10_000),
		strings.Repeat("\xff", 10_000),
		strings.Repeat("\u2028\u00ad\U000e0001", 10_000),
		strings.Repeat("日本語", 10_000),
	}
	for _, s := range hostile {
		for _, h := range []struct {
			new    func(*bytes.Buffer) slog.Handler
			prefix string // what precedes the value
			suffix string // what follows it
		}{{jsonHandler, `"v":`, "}\n"}, {textHandler, " v=", "\n"}} {
			var buf bytes.Buffer
			cut := truncateEscaped(s, 1000)
			slog.New(h.new(&buf)).Info("", "v", cut)
			if escapedLen(cut) > 1000 {
				t.Errorf("escapedLen(cut) = %d, want <= 1000", escapedLen(cut))
			}
			// escapedLen is an upper bound of what the handlers write.
			line := buf.String()
			val := strings.TrimSuffix(line[strings.Index(line, h.prefix)+len(h.prefix):], h.suffix)
			if len(val) > escapedLen(cut) {
				t.Errorf("%q... written as %d bytes, escapedLen says %d", cut[:8], len(val), escapedLen(cut))
			}
		}
	}
}

func jsonHandler(w *bytes.Buffer) slog.Handler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})
}

func textHandler(w *bytes.Buffer) slog.Handler {
	return slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})
}

type valuer struct{ s string }

func (v valuer) LogValue() slog.Value { return slog.StringValue(v.s) }

type big struct {
	Items []string
	Notes map[string]string
}

func TestBoundedLinesNeverExceedTheCap(t *testing.T) {
	huge := strings.Repeat("x", 5_800_000)
	many := make([]any, 0, 20_000)
	for i := range 10_000 {
		many = append(many, fmt.Sprintf("k%05d", i), strings.Repeat("v", 100))
	}
	notes := map[string]string{}
	for i := range 10_000 {
		notes[fmt.Sprint(i)] = "note"
	}
	tests := []struct {
		name string
		log  func(l *slog.Logger)
	}{
		{"huge message", func(l *slog.Logger) { l.Error(huge) }},
		{"huge string", func(l *slog.Logger) { l.Warn("dead-lettering message", "error", huge) }},
		{"huge error", func(l *slog.Logger) { l.Error("handler returned error", "error", errors.New(huge)) }},
		{"many attributes", func(l *slog.Logger) { l.Info("many", many...) }},
		{"escapes", func(l *slog.Logger) {
			l.Info("esc", "ctl", strings.Repeat("\x01", 50_000), "quotes", strings.Repeat(`"`, 50_000), "bad", strings.Repeat("\xfe", 50_000))
		}},
		{"unprintable", func(l *slog.Logger) { l.Info("u", "v", strings.Repeat("\U000e0001", 50_000)) }},
		{"struct", func(l *slog.Logger) { l.Info("s", "v", big{Items: strings.Split(huge[:200_000], "x"), Notes: notes}) }},
		{"bytes", func(l *slog.Logger) { l.Info("b", "v", []byte(huge)) }},
		{"huge key", func(l *slog.Logger) { l.Info("k", huge, 1) }},
		{"log valuer", func(l *slog.Logger) { l.Info("lv", "v", valuer{huge}) }},
		{"groups", func(l *slog.Logger) {
			l.Info("g", slog.Group("a", "x", huge, slog.Group("b", "y", huge, "z", errors.New(huge))), "after", huge)
		}},
		{"with attrs and groups", func(l *slog.Logger) {
			l.With("w1", huge, "w2", huge).WithGroup("grp").With(many...).WithGroup(huge).Error(huge, "e", errors.New(huge))
		}},
		{"many withs", func(l *slog.Logger) {
			for i := range 200 {
				l = l.With(fmt.Sprintf("with%03d", i), strings.Repeat("w", 200))
			}
			l.Info("m", many...)
		}},
	}
	for _, format := range []string{"json", "text"} {
		for _, tt := range tests {
			t.Run(format+"/"+tt.name, func(t *testing.T) {
				var buf bytes.Buffer
				l, err := New(&buf, Config{Level: "debug", Format: format}, "test")
				if err != nil {
					t.Fatal(err)
				}
				tt.log(l)
				lines := strings.SplitAfter(buf.String(), "\n")
				if lines[len(lines)-1] == "" {
					lines = lines[:len(lines)-1]
				}
				if len(lines) != 1 {
					t.Fatalf("lines = %d, want 1", len(lines))
				}
				if n := len(lines[0]); n > MaxLineBytes {
					t.Errorf("line of %d bytes, cap %d: %.200s", n, MaxLineBytes, lines[0])
				}
				if format == "json" && !json.Valid([]byte(lines[0])) {
					t.Errorf("not JSON: %.300s", lines[0])
				}
			})
		}
	}
}

func TestBoundedLinesKeepSmallLinesAsTheyAre(t *testing.T) {
	var plain, bounded bytes.Buffer
	log := func(l *slog.Logger) {
		l.With("worker", "submit").WithGroup("req").Info("deployed",
			"request_id", "r-1", "n", 3, "ok", true, "err", errors.New("boom"),
			slog.Group("job", "ns", "flink", "id", "wc"), "list", []string{"a", "b"})
	}
	log(slog.New(jsonHandler(&plain)))
	log(slog.New(Bound(jsonHandler(&bounded))))
	strip := func(s string) string { return s[strings.Index(s, `"level"`):] } // times differ
	if got, want := strip(bounded.String()), strip(plain.String()); got != want {
		t.Errorf("bounded line = %s\nwant          %s", got, want)
	}
}

func TestBoundedDropsAreCounted(t *testing.T) {
	var buf bytes.Buffer
	args := make([]any, 0, 2000)
	for i := range 1000 {
		args = append(args, fmt.Sprintf("k%04d", i), strings.Repeat("v", 100))
	}
	slog.New(Bound(jsonHandler(&buf))).Info("many", args...)
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	dropped, _ := got[DroppedAttrsKey].(float64)
	kept := len(got) - 4 // time, level, msg, log_attrs_dropped
	if int(dropped)+kept != 1000 || dropped == 0 {
		t.Errorf("kept %d + dropped %v, want 1000 with some dropped", kept, got[DroppedAttrsKey])
	}
}

func TestBoundIsIdempotent(t *testing.T) {
	h := Bound(slog.DiscardHandler)
	if Bound(h) != h {
		t.Error("Bound(Bound(h)) wraps twice")
	}
	l := BoundLogger(slog.New(slog.DiscardHandler))
	if BoundLogger(l) != l {
		t.Error("BoundLogger(BoundLogger(l)) wraps twice")
	}
}
