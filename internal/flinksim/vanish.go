package flinksim

import (
	"net/http"
	"strconv"
)

// Vanish is how the server answers a request for a cluster that does not
// exist: never added, removed with RemoveCluster, shut down with
// DELETE /cluster, or an application cluster that shut down after its job
// ended. A real client would see "connection refused"; one port serving
// many clusters cannot refuse per cluster, so these are the nearest
// answers a vanished JobManager gives through a Service or proxy.
type Vanish int

// The ways a vanished JobManager answers.
const (
	// VanishUnavailable answers 503 with the Status the Kubernetes API
	// server's service proxy sends when a Service has no endpoints.
	VanishUnavailable Vanish = iota
	// VanishNotFound answers 404 with a plain-text body (an ingress or
	// proxy without a backend), not Flink's error JSON.
	VanishNotFound
	// VanishHang never answers: the request waits until the client gives
	// up or the server closes.
	VanishHang
	// VanishReset closes the connection without answering (TCP RST).
	VanishReset
)

func (s *Server) vanished(w http.ResponseWriter, r *http.Request, name string) {
	switch Vanish(s.vanish.Load()) {
	case VanishNotFound:
		http.Error(w, "404 page not found", http.StatusNotFound)
	case VanishHang:
		s.wait(r.Context(), 0)
	case VanishReset:
		reset(w)
	default:
		body := `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",` +
			`"message":"no endpoints available for service \"` + name + `-rest\"",` +
			`"reason":"ServiceUnavailable","code":503}`
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(body))
	}
}
