package simtest

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"testing"

	"github.com/flinkferry/flinkferry/internal/flinkrest"
	"github.com/flinkferry/flinkferry/internal/flinksim"
)

// HostRouted starts a simulator routing by Host header
// ([flinksim.ServerOptions.HostRouting]) and returns it with the HTTP
// client that reaches it: flinkrest's transport (maxIdlePerHost idle
// connections per host) dialling the simulator whatever the host, so
// http://<id>-rest.<namespace>:8081 reaches the simulator's cluster
// "<id>-rest". Both are closed when t ends.
func HostRouted(t testing.TB, maxIdlePerHost int) (*flinksim.Server, *http.Client) {
	t.Helper()
	sim := flinksim.New(flinksim.ServerOptions{HostRouting: true})
	base, err := sim.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	tr := flinkrest.NewTransport(maxIdlePerHost)
	tr.Proxy = nil // the host names exist only here
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, u.Host)
	}
	t.Cleanup(tr.CloseIdleConnections)
	return sim, &http.Client{Transport: tr}
}
