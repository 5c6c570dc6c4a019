package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Config selects the log format and level. It is read from FLINKFERRY_LOG_*.
type Config struct {
	Level  string `envconfig:"LEVEL" default:"info" desc:"log level: debug, info, warn, error"`
	Format string `envconfig:"FORMAT" default:"json" desc:"log format: json or text"`
}

// Validate reports a bad level or format.
func (c Config) Validate() error {
	if _, err := parseLevel(c.Level); err != nil {
		return err
	}
	switch c.Format {
	case "json", "text":
		return nil
	}
	return fmt.Errorf("log: FORMAT %q is not json or text", c.Format)
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return 0, fmt.Errorf("log: LEVEL %q is not debug, info, warn or error", s)
	}
	return l, nil
}

// New returns a logger writing to w in the configured format, with the
// attribute worker=<worker> on every line. Its lines are bounded (Bound):
// none exceeds MaxLineBytes.
func New(w io.Writer, c Config, worker string) (*slog.Logger, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	level, _ := parseLevel(c.Level)
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if c.Format == "text" {
		h = slog.NewTextHandler(w, opts)
	}
	l := slog.New(Bound(h))
	if worker != "" {
		l = l.With("worker", worker)
	}
	return l, nil
}

type ctxKey struct{}

// WithLogger returns ctx carrying l.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// FromContext returns the logger carried by ctx, or slog.Default().
func FromContext(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(ctxKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}
