package submit

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
)

// TestWorkerEndToEnd runs the submit worker on kfake against the real API
// server: image built in, objects applied, deployed out; a namespace that
// is not allowed gives deploy failed.
func TestWorkerEndToEnd(t *testing.T) {
	k := testenv.Kafka(t)
	cp := kubetest.Shared(t)
	cs := cp.Clientset()
	ctx := context.Background()
	kubetest.CreateNamespace(t, cs, "e2e")
	cfg := Config{Common: k.WorkerCommon(), Submit: SubmitConfig{PolicyVars: kubeclusters.PolicyVars{AllowedNamespaces: []string{"e2e"}, AllowedServiceAccounts: []string{"default"}}}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	clusters := &kubeclusters.Set{}
	clusters.Add(kubeclusters.Config{Name: "default", Default: true, AllowedNamespaces: []string{"e2e"}, AllowedServiceAccounts: []string{"default"}}, cs)
	testenv.RunWorker(t, Spec(cfg, clusters))

	topics := cfg.Kafka.Topics()
	send := func(ns, id string) {
		ev := imageBuilt(messages.ModeApplication, func(r *messages.SubmitRequested) {
			r.Job = messages.JobRef{Namespace: ns, ClusterID: id}
			r.RequestID = id
		})
		ev.Job, ev.RequestID, ev.JarSHA256, ev.Time = ev.Request.Job, id, "5f51cb089dffd25034b0a897c81ff9ceab826802ad66d333d2e06ca30a6b6480", time.Now()
		key, headers, value, err := messages.Encode(ev, messages.Envelope{Source: "test"})
		if err != nil {
			t.Fatal(err)
		}
		k.Produce(t, topics.ImageBuilt, key, value, headers)
	}
	send("e2e", "wordcount")
	send("kube-system", "intruder")

	deployed := k.Consume(t, topics.Deployed, 1, 60*time.Second)
	if len(deployed) != 1 {
		t.Fatalf("deployed records = %d, want 1", len(deployed))
	}
	ev, _, err := messages.DecodeMessage(headerMap(deployed[0]), "", deployed[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	dep := ev.(*messages.Deployed)
	if dep.Request == nil || dep.Request.RequestID != dep.RequestID || dep.JarName == "" {
		t.Errorf("deployed carries request %+v and jar %q, want the request deployed and its jar name (a redeploy needs them)", dep.Request, dep.JarName)
	}
	d, err := cs.AppsV1().Deployments("e2e").Get(ctx, "wordcount", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if dep.ObjectUIDs["Deployment/wordcount"] != string(d.UID) || dep.RestEndpoint != "http://wordcount-rest.e2e:8081" || dep.FlinkJobID == "" {
		t.Errorf("deployed = %+v", dep)
	}

	status := k.Consume(t, topics.Status, 2, 30*time.Second)
	var refused *messages.DeployFailed
	for _, r := range status {
		ev, _, err := messages.DecodeMessage(headerMap(r), "", r.Value)
		if err != nil {
			t.Fatal(err)
		}
		if f, ok := ev.(*messages.DeployFailed); ok {
			refused = f
		}
	}
	if refused == nil || refused.Reason != messages.DeployReasonNamespaceNotAllowed || refused.Job.ClusterID != "intruder" {
		t.Errorf("deploy failed = %+v, want %s for intruder", refused, messages.DeployReasonNamespaceNotAllowed)
	}
	if _, err := cs.AppsV1().Deployments("kube-system").Get(ctx, "intruder", metav1.GetOptions{}); err == nil {
		t.Error("a Deployment was created in a namespace that is not allowed")
	}
}
