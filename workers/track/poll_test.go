package track

import (
	"context"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flinkferry/flinkferry/internal/flinkrest"
	"github.com/flinkferry/flinkferry/internal/flinksim"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/internal/testenv"
)

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestTrackPollErrorReasons: flinkferry_track_poll_errors_total names the
// cause of each failed poll: a JobManager answering 200 with a page that
// is not JSON is reason="decode", one whose port is closed (connection
// refused) reason="unavailable", a 5xx reason="http_5xx", a hung one
// reason="timeout". (Before, decode errors and refused connections were
// both counted as "unavailable", which the help text did not list.)
func TestTrackPollErrorReasons(t *testing.T) {
	r := testenv.Redis(t)
	sim := flinksim.New(flinksim.ServerOptions{})
	if _, err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	cfg := fastTrack("")
	store := newStore(t, r, cfg.Shards)
	ctx := context.Background()

	// Every JobManager fails each poll its own way.
	jms := []struct {
		name  string
		fault *flinksim.Fault
	}{
		{"closed", nil},
		{"garbage", &flinksim.Fault{Kind: flinksim.FaultNotJSON}},
		{"broken", &flinksim.Fault{Kind: flinksim.FaultError, Status: 503}},
		{"hung", &flinksim.Fault{Kind: flinksim.FaultTimeout}},
	}
	for i, jm := range jms {
		ep := "http://" + closedPort(t)
		if jm.fault != nil {
			runningCluster(sim, jm.name, jobIDOf(i)).InjectFault(*jm.fault)
			ep = sim.ClusterURL(kubeclusters.RestServiceName(jm.name))
		}
		if _, err := store.Register(ctx, deployed("flink", jm.name, jobIDOf(i), ep), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	startReplicaWith(t, r, cfg, "r1", Deps{
		Flink: flinkrest.New(flinkrest.Options{RequestTimeout: cfg.RequestTimeout}), Publisher: &recorder{}, Registerer: reg,
	})
	// Without Kubernetes the jobs stay STARTING; their polls keep failing.
	reasons := []string{"decode", "unavailable", "http_5xx", "timeout"}
	counted := func() bool {
		for _, reason := range reasons {
			if pollErrorsOf(t, reg, kindStatus, reason) < 1 {
				return false
			}
		}
		return true
	}
	for deadline := time.Now().Add(10 * time.Second); !counted() && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	for _, reason := range reasons {
		if got := pollErrorsOf(t, reg, kindStatus, reason); got < 1 {
			t.Errorf("flinkferry_track_poll_errors_total{kind=%q,reason=%q} = %v, want > 0", kindStatus, reason, got)
		}
	}
	if got := pollErrorsOf(t, reg, kindStatus, "other"); got != 0 {
		t.Errorf("flinkferry_track_poll_errors_total{kind=%q,reason=\"other\"} = %v, want 0", kindStatus, got)
	}
}

// TestErrorReason pins the label of each kind of poll error.
func TestErrorReason(t *testing.T) {
	refused := &flinkrest.RequestError{Method: "GET", URL: "http://jm:8081/jobs/overview",
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: fmt.Errorf("connect: %w", syscall.ECONNREFUSED)}}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"refused", refused, "unavailable"},
		{"timeout", &flinkrest.RequestError{Err: context.DeadlineExceeded}, "timeout"},
		{"503", &flinkrest.Error{StatusCode: 503}, "http_5xx"},
		{"proxy 404", &flinkrest.Error{StatusCode: 404, NotFlink: true}, "http_4xx"},
		{"not JSON", &flinkrest.DecodeError{StatusCode: 200, Err: fmt.Errorf("invalid character '<'")}, "decode"},
		{"something else", fmt.Errorf("boom"), "other"},
	} {
		if got := errorReason(tc.err); got != tc.want {
			t.Errorf("errorReason(%s) = %q, want %q", tc.name, got, tc.want)
		}
	}
}
