package simtest_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/flinkferry/flinkferry/internal/flinksim"
	"github.com/flinkferry/flinkferry/internal/flinksim/simtest"
)

// TestHostRouted: a cluster is reached at its DNS name; a name no cluster
// has is answered like a vanished JobManager, not by another cluster.
func TestHostRouted(t *testing.T) {
	sim, hc := simtest.HostRouted(t, 4)
	sim.AddCluster("wordcount-rest", flinksim.ClusterOptions{})
	for _, tc := range []struct {
		url  string
		want int
	}{
		{"http://wordcount-rest.flink-jobs:8081/overview", http.StatusOK},
		{"http://other-rest.flink-jobs:8081/overview", http.StatusServiceUnavailable},
	} {
		resp, err := hc.Get(tc.url)
		if err != nil {
			t.Fatalf("GET %s: %v", tc.url, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := resp.StatusCode; got != tc.want {
			t.Errorf("GET %s = %d, want %d", tc.url, got, tc.want)
		}
		if tc.want == http.StatusOK && !strings.Contains(string(body), `"flink-version"`) {
			t.Errorf("GET %s body = %s, want the cluster overview", tc.url, body)
		}
	}
}
