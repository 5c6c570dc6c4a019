package ops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config is the ops endpoint address, read from FLINKFERRY_OPS_*.
type Config struct {
	Addr string `envconfig:"ADDR" default:":9090" desc:"listen address of /metrics, /healthz and /readyz (empty: disabled)"`
}

// Check reports nil when a dependency is ready.
type Check func(ctx context.Context) error

// Server serves /metrics, /healthz and /readyz.
type Server struct {
	Registry *prometheus.Registry
	checks   map[string]Check
	log      *slog.Logger
}

// New returns a server with a fresh registry holding the Go and process collectors.
func New(log *slog.Logger) *Server {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &Server{Registry: reg, checks: map[string]Check{}, log: log}
}

// AddReadinessCheck makes /readyz fail while check fails.
func (s *Server) AddReadinessCheck(name string, check Check) { s.checks[name] = check }

// Handler returns the HTTP handler of the ops endpoints.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{Registry: s.Registry}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		var problems []string
		for name, check := range s.checks {
			if err := check(ctx); err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", name, err))
			}
		}
		if len(problems) > 0 {
			slices.Sort(problems)
			http.Error(w, strings.Join(problems, "\n"), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}

// Serve listens on addr until ctx is cancelled. An empty addr serves nothing
// and waits for ctx.
func (s *Server) Serve(ctx context.Context, addr string) error {
	if addr == "" {
		<-ctx.Done()
		return nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on ops address %s: %w", addr, err)
	}
	return s.ServeListener(ctx, l)
}

// ServeListener serves on l until ctx is cancelled.
func (s *Server) ServeListener(ctx context.Context, l net.Listener) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	s.log.Info("ops endpoints listening", "addr", l.Addr().String())
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving ops endpoints: %w", err)
	}
	return nil
}
