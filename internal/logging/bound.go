package logging

import (
	"context"
	"encoding"
	"encoding/json"
	"fmt"
	"log/slog"
)

// Size caps of log lines. A line about a message must never grow with the
// message: one 5.8 MB error text logged on every redelivery filled the
// disks of issue 13.
const (
	// MaxLineBytes bounds every line written through a bounded handler
	// (Bound; every logger from New), newline included, in JSON and in
	// text format.
	MaxLineBytes = 8 << 10
	// MaxValueBytes bounds the message and each attribute value of a line,
	// once escaped; a longer one is cut (Truncate's marker says so).
	MaxValueBytes = 4 << 10
	// maxKeyBytes bounds an attribute key or group name.
	maxKeyBytes = 128
	// lineReserve is what a line needs besides its attributes: time, level,
	// the msg key, punctuation, newline and the log_attrs_dropped attribute.
	lineReserve = 320
	// attrOverhead is the punctuation of one attribute in JSON (,"k":) or
	// text ( k=).
	attrOverhead = 6
	// scalarCost bounds a number, bool, duration or time once written.
	scalarCost = 40
	// minValueCost is the least room worth giving a value; below it the
	// attribute is dropped and counted in log_attrs_dropped.
	minValueCost = 64
)

// DroppedAttrsKey names the attribute that counts the attributes a bounded
// handler dropped from a line because the line was full.
const DroppedAttrsKey = "log_attrs_dropped"

// Bound wraps h so that no line it writes exceeds MaxLineBytes: the message
// and every attribute value (strings, errors, values rendered with fmt or
// encoding/json, groups) are cut at MaxValueBytes, and attributes that no
// longer fit are dropped and counted. Attributes added with With count
// against the same budget (at most half of it). Bound(Bound(h)) is
// Bound(h). The bound holds for handlers without AddSource.
func Bound(h slog.Handler) slog.Handler {
	if _, ok := h.(*boundedHandler); ok {
		return h
	}
	return &boundedHandler{inner: h}
}

// BoundLogger returns a logger writing through Bound(l.Handler()).
func BoundLogger(l *slog.Logger) *slog.Logger {
	if _, ok := l.Handler().(*boundedHandler); ok {
		return l
	}
	return slog.New(Bound(l.Handler()))
}

type boundedHandler struct {
	inner slog.Handler
	// used is the room taken by attributes and groups added with With.
	used int
	// prefix is the room of the group path the text handler repeats
	// before every key.
	prefix int
	// dropped counts attributes With dropped.
	dropped int
}

func (h *boundedHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *boundedHandler) Handle(ctx context.Context, r slog.Record) error {
	b := budget{left: MaxLineBytes - lineReserve - h.used, dropped: h.dropped}
	msg := truncateEscaped(r.Message, min(MaxValueBytes, b.left/2))
	b.left -= escapedLen(msg)
	nr := slog.NewRecord(r.Time, r.Level, msg, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if a, ok := b.attr(a, h.prefix); ok {
			nr.AddAttrs(a)
		}
		return true
	})
	if b.dropped > 0 {
		nr.AddAttrs(slog.Int(DroppedAttrsKey, b.dropped))
	}
	return h.inner.Handle(ctx, nr)
}

func (h *boundedHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	b := budget{left: (MaxLineBytes-lineReserve)/2 - h.used}
	kept := make([]slog.Attr, 0, len(attrs))
	for _, a := range attrs {
		if a, ok := b.attr(a, h.prefix); ok {
			kept = append(kept, a)
		}
	}
	h2 := *h
	h2.inner = h.inner.WithAttrs(kept)
	h2.used = (MaxLineBytes-lineReserve)/2 - b.left
	h2.dropped += b.dropped
	return &h2
}

func (h *boundedHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	name = truncateEscaped(name, maxKeyBytes)
	h2 := *h
	h2.inner = h.inner.WithGroup(name)
	h2.used += escapedLen(name) + attrOverhead
	h2.prefix += escapedLen(name)
	return &h2
}

// budget is the room left on one line.
type budget struct {
	left    int
	dropped int
}

// attr returns a, cut to fit the room left, and takes its room; false
// when there is no room for it.
func (b *budget) attr(a slog.Attr, prefix int) (slog.Attr, bool) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return a, false
	}
	a.Key = truncateEscaped(a.Key, maxKeyBytes)
	overhead := escapedLen(a.Key) + attrOverhead + prefix
	if b.left-overhead < minValueCost {
		b.dropped++
		return a, false
	}
	b.left -= overhead
	if a.Value.Kind() == slog.KindGroup {
		var kept []slog.Attr
		for _, ga := range a.Value.Group() {
			if ga, ok := b.attr(ga, prefix+escapedLen(a.Key)); ok {
				kept = append(kept, ga)
			}
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(kept...)}, true
	}
	limit := min(MaxValueBytes, b.left)
	v, cost := boundValue(a.Value, limit)
	b.left -= cost
	a.Value = v
	return a, true
}

// boundValue returns v, or v as a string cut to limit escaped bytes when
// it may be longer, and the room the result takes.
func boundValue(v slog.Value, limit int) (slog.Value, int) {
	switch v.Kind() {
	case slog.KindString:
		s := truncateEscaped(v.String(), limit)
		return slog.StringValue(s), escapedLen(s)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			s := truncateEscaped(errorText(err), limit)
			return slog.StringValue(s), escapedLen(s)
		}
		if n := renderedLen(v.Any()); n <= limit {
			return v, n
		}
		s := truncateEscaped(fmt.Sprintf("%+v", v.Any()), limit)
		return slog.StringValue(s), escapedLen(s)
	default: // numbers, bools, durations, times
		return v, scalarCost
	}
}

// errorText is err.Error(), or a note when Error panics (a nil pointer
// receiver), as slog itself would print.
func errorText(err error) (s string) {
	defer func() {
		if r := recover(); r != nil {
			s = fmt.Sprintf("!PANIC: %v", r)
		}
	}()
	return err.Error()
}

// renderedLen bounds the escaped length of x as the JSON handler
// (encoding/json) and the text handler (MarshalText or fmt's %+v) write it.
func renderedLen(x any) (n int) {
	defer func() {
		if recover() != nil {
			n = MaxLineBytes // a marshaler that panics: print it with fmt, which recovers
		}
	}()
	n = escapedLen(fmt.Sprintf("%+v", x))
	if j, err := json.Marshal(x); err == nil {
		n = max(n, escapedLen(string(j)))
	} else {
		n = max(n, escapedLen(err.Error())+16)
	}
	if tm, ok := x.(encoding.TextMarshaler); ok {
		if t, err := tm.MarshalText(); err == nil {
			n = max(n, escapedLen(string(t)))
		}
	}
	return n
}
