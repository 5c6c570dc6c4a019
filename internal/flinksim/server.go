package flinksim

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ServerOptions configures a Server.
type ServerOptions struct {
	// Clock is the default clock of every cluster (default RealClock).
	Clock Clock
	// HostRouting also routes requests by Host header: a host
	// NAME.<anything> (not an IP address) addresses cluster NAME.
	HostRouting bool
	// Default names the cluster that serves requests at / (neither a /c/
	// prefix nor a routed host); empty means none.
	Default string
	// Vanish is how a request for a missing cluster is answered.
	Vanish Vanish
	// WrongMethodStatus is the status for a known path with a method it
	// does not serve. Zero means 404, as Flink's router answers ("Not
	// found: <uri>"); set 405 for a strict Method Not Allowed.
	WrongMethodStatus int
	// Seed makes generated ids reproducible (per cluster name).
	Seed uint64
	// Checkpoints are the checkpoints of the jobs AddCluster creates
	// whose JobSpec configures none (zero Interval): `flinkferry dev`
	// makes every simulated job complete checkpoints, as a job with
	// execution.checkpointing.interval set does. Zero: none.
	Checkpoints CheckpointSpec
}

// Server hosts many virtual JobManagers. It is an http.Handler; Start
// serves it on a loopback port.
type Server struct {
	clock       Clock
	hostRouting bool
	def         string
	wrongMethod int
	seed        uint64
	checkpoints CheckpointSpec
	vanish      atomic.Int32

	clusters sync.Map // name -> *Cluster
	count    atomic.Int64

	done     chan struct{} // closed by Close: releases hung handlers
	doneOnce sync.Once
	hs       *http.Server
	ln       net.Listener
}

// New returns an empty Server.
func New(opts ServerOptions) *Server {
	s := &Server{
		clock: opts.Clock, hostRouting: opts.HostRouting, def: opts.Default,
		wrongMethod: opts.WrongMethodStatus, seed: opts.Seed, checkpoints: opts.Checkpoints, done: make(chan struct{}),
	}
	if s.clock == nil {
		s.clock = RealClock()
	}
	if s.wrongMethod == 0 {
		s.wrongMethod = http.StatusNotFound
	}
	s.vanish.Store(int32(opts.Vanish))
	return s
}

// NewSingle returns a Server whose one cluster, named "default", is also
// served at /, so a client configured with a plain base URL reaches it.
func NewSingle(opts ClusterOptions) (*Server, *Cluster) {
	s := New(ServerOptions{Clock: opts.Clock, Default: "default"})
	return s, s.AddCluster("default", opts)
}

// AddCluster creates cluster name, replacing any cluster of that name. A
// name is made of letters, digits, '-' and '_' (a Flink cluster id is a
// DNS label); another name panics.
func (s *Server) AddCluster(name string, opts ClusterOptions) *Cluster {
	if !validName(name) {
		panic(fmt.Sprintf("flinksim: invalid cluster name %q", name))
	}
	if s.checkpoints.Interval > 0 {
		opts.Jobs = append([]JobSpec(nil), opts.Jobs...)
		for i := range opts.Jobs {
			if opts.Jobs[i].Checkpoints.Interval == 0 {
				opts.Jobs[i].Checkpoints = s.checkpoints
			}
		}
	}
	c := newCluster(s, name, opts)
	if _, loaded := s.clusters.Swap(name, c); !loaded {
		s.count.Add(1)
	}
	return c
}

// Cluster returns cluster name, or nil.
func (s *Server) Cluster(name string) *Cluster {
	if v, ok := s.clusters.Load(name); ok {
		return v.(*Cluster)
	}
	return nil
}

// RemoveCluster deletes cluster name; later requests for it are answered
// as the server's Vanish says. It reports whether the cluster existed.
func (s *Server) RemoveCluster(name string) bool {
	if _, ok := s.clusters.LoadAndDelete(name); ok {
		s.count.Add(-1)
		return true
	}
	return false
}

// removeIf deletes c if it is still the cluster of its name.
func (s *Server) removeIf(c *Cluster) {
	if s.clusters.CompareAndDelete(c.name, c) {
		s.count.Add(-1)
	}
}

// Len returns the number of clusters.
func (s *Server) Len() int { return int(s.count.Load()) }

// SetVanish changes how requests for missing clusters are answered.
func (s *Server) SetVanish(v Vanish) { s.vanish.Store(int32(v)) }

// ServeHTTP routes a request to its cluster and Flink endpoint.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, path := s.resolve(r)
	var c *Cluster
	if name != "" {
		c = s.Cluster(name)
	}
	if c == nil {
		s.vanished(w, r, name)
		return
	}
	c.serve(w, r, path)
}

// resolve returns the cluster name and the Flink path of r.
func (s *Server) resolve(r *http.Request) (name, path string) {
	p := r.URL.Path
	if rest, ok := strings.CutPrefix(p, "/c/"); ok {
		name, path, _ = strings.Cut(rest, "/")
		return name, "/" + path
	}
	if s.hostRouting {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if label, _, ok := strings.Cut(host, "."); ok && net.ParseIP(host) == nil {
			return label, p
		}
	}
	return s.def, p
}

// Start serves the Server on a new loopback port until Close and returns
// its base URL, like httptest.NewServer.
func (s *Server) Start() (baseURL string, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listening on loopback: %w", err)
	}
	s.ln = ln
	s.hs = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() {
		// Serve returns ErrServerClosed after Close; a listener that fails
		// otherwise shows up as failing requests.
		_ = s.hs.Serve(ln)
	}()
	return s.URL(), nil
}

// URL returns the base URL of a started Server ("http://127.0.0.1:port").
func (s *Server) URL() string {
	if s.ln == nil {
		return ""
	}
	return "http://" + s.ln.Addr().String()
}

// ClusterURL returns the base URL of cluster name on a started Server.
func (s *Server) ClusterURL(name string) string { return s.URL() + "/c/" + name }

// Close releases handlers that hang on purpose and stops serving.
func (s *Server) Close() error {
	s.doneOnce.Do(func() { close(s.done) })
	if s.hs == nil {
		return nil
	}
	if err := s.hs.Close(); err != nil {
		return fmt.Errorf("closing server: %w", err)
	}
	return nil
}

func validName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
