package track

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flinkferry/flinkferry/messages"
)

// TestDeployedFromKeepsTheIngressURL: a job recovered from its Deployment
// (after a Redis loss) keeps the Web UI Ingress's URL the submit worker
// annotated, rather than the REST endpoint.
func TestDeployedFromKeepsTheIngressURL(t *testing.T) {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "wordcount", Namespace: "flink-jobs", Annotations: map[string]string{
		annotationRequest: "req-1", annotationMode: string(messages.ModeApplication),
		annotationWebUIURL: "https://wordcount.flink-jobs.flink.example.com/",
	}}}
	ev := deployedFrom(d)
	if ev == nil {
		t.Fatal("deployedFrom() = nil")
	}
	if got, want := ev.WebUIURL, "https://wordcount.flink-jobs.flink.example.com/"; got != want {
		t.Errorf("deployedFrom().WebUIURL = %q, want %q", got, want)
	}
}
