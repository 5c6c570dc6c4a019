package track

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/kubetest"
)

// TestKubeWatcherUnknownWhenAPIServerStops: client-go retries a refused
// watch silently, so the probe must notice the API server is gone.
func TestKubeWatcherUnknownWhenAPIServerStops(t *testing.T) {
	cp := kubetest.Start(t, kubetest.Options{})
	w := newKubeWatcher("c", cp.Clientset(), []string{"ns"}, time.Minute, slog.Default(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.run(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for !w.known() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if !w.known() {
		t.Fatal("never known")
	}
	cp.Stop()
	start := time.Now()
	for w.known() && time.Since(start) < 20*time.Second {
		time.Sleep(50 * time.Millisecond)
	}
	if w.known() {
		t.Fatalf("caches still trusted %s after the API server stopped", time.Since(start))
	}
}
