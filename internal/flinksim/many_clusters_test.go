package flinksim_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/flinksim"
)

// TestManyClusters creates 10,000 clusters and sends one request to each
// through a real loopback listener.
func TestManyClusters(t *testing.T) {
	const n = 10000
	srv := flinksim.New(flinksim.ServerOptions{})
	start := time.Now()
	for i := range n {
		srv.AddCluster(fmt.Sprintf("c%05d", i), flinksim.ClusterOptions{Jobs: []flinksim.JobSpec{{Script: flinksim.Script{{State: flinksim.Running}}}}})
	}
	if _, err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= n {
					return
				}
				resp, err := client.Get(srv.ClusterURL(fmt.Sprintf("c%05d", i)) + "/jobs/overview")
				if err != nil {
					failed.Add(1)
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !strings.Contains(string(b), `"state":"RUNNING"`) {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if got := failed.Load(); got != 0 {
		t.Fatalf("%d of %d requests failed", got, n)
	}
	if got, want := srv.Len(), n; got != want {
		t.Errorf("Len() = %d, want %d", got, want)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("10,000 clusters took %v", d)
	}
	t.Logf("10,000 clusters created and queried in %v", time.Since(start))
}
