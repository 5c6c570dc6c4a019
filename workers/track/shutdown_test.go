package track

import (
	"context"
	"log/slog"
	"os"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/internal/worker"
)

// TestTrackShutdownAfterLongAPIServerOutage: however long the Kubernetes
// API server has been away, the track worker stops within 3 s of its
// context ending (SIGTERM). Its informers retry the API server all along,
// with client-go's backoff growing to 30-60 s between attempts. Two
// cases, on the real kube-apiserver: the API server stops while the worker
// watches, and the worker (re)starts while it is down, so its informers
// list and watch from scratch. (Before the fix the second case took
// 20-60 s: client-go's streaming watch-list retries a refused connection
// after a backoff sleep that ignores the stop channel, and the informer
// factory's Shutdown waited for it.)
func TestTrackShutdownAfterLongAPIServerOutage(t *testing.T) {
	const outage = 40 * time.Second // long enough for a 12-50 s backoff
	for _, tc := range []struct {
		name       string
		downFirst  bool
		namespaces []string
	}{
		{"API server stops while the worker watches", false, []string{"sd-a1", "sd-a2", "sd-a3"}},
		{"worker starts while the API server is down", true, []string{"sd-b1", "sd-b2", "sd-b3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k, r := testenv.Kafka(t), testenv.Redis(t)
			cp := kubetest.Start(t, kubetest.Options{})
			for _, ns := range tc.namespaces {
				kubetest.CreateNamespace(t, cp.Clientset(), ns)
			}
			cfg := fastConfig(k, r, "r1", tc.namespaces...)
			clusters, err := kubeclusters.Connect([]kubeclusters.Config{{
				Name: "default", Default: true, Kubeconfig: cp.KubeconfigPath(), AllowedNamespaces: tc.namespaces,
			}}, cfg.Track.KubeQPS, cfg.Track.KubeBurst)
			if err != nil {
				t.Fatal(err)
			}
			spec := Spec(cfg, Overrides{Clusters: clusters})
			spec.Logger = slog.New(slog.DiscardHandler)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			if tc.downFirst {
				if err := cp.Stop(); err != nil {
					t.Fatal(err)
				}
			}
			go func() { done <- worker.Run(ctx, spec) }()
			if !tc.downFirst {
				time.Sleep(3 * time.Second) // informers synced and watching
				if err := cp.Stop(); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(outage)
			began := time.Now()
			cancel()
			select {
			case err := <-done:
				took := time.Since(began)
				t.Logf("worker stopped %s after its context ended, after a %s API server outage", took.Round(time.Millisecond), outage)
				if err != nil {
					t.Errorf("worker: %v", err)
				}
				if took > 3*time.Second {
					t.Errorf("worker took %s to stop, want < 3s", took)
				}
			case <-time.After(3 * time.Second):
				_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
				<-done
				t.Errorf("worker took %s to stop after its context ended, want < 3s (goroutines 3s after above)", time.Since(began).Round(time.Millisecond))
			}
		})
	}
}
