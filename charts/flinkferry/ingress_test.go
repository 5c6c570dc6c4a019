package flinkferry_test

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
)

// TestIngressThroughTheChart: with the ingress values, the submit worker
// configured from the chart's environment and running as the chart's
// ServiceAccount creates the job's Web UI Ingress (its Role allows it) and
// reports its URL as web_ui_url; with the default values the Role grants
// no Ingress access at all (SubjectAccessReview).
func TestIngressThroughTheChart(t *testing.T) {
	const release, ns, jobs = "ing", "ff-ing", "ing-jobs"
	submitSA := release + "-flinkferry-submit"
	cp := kubetest.Shared(t)
	admin := cp.Clientset()
	ctx := context.Background()
	out := helm(t, "template", release, ".", "--namespace", ns, "--kube-version", kubetest.KubernetesVersion,
		"-f", "testdata/values/ingress.yaml", "--set", "jobNamespaces={"+jobs+"}")
	applyManifests(t, cp, out, ns)
	waitAccess(t, admin, serviceAccountUser(ns, submitSA), "patch", "networking.k8s.io", "ingresses", jobs, true)

	k := testenv.Kafka(t)
	env := chartEnv(t, admin, ns, release, "submit")
	env["FLINKFERRY_SUBMIT_KUBECONFIG"] = kubeconfigFile(t, cp, t.TempDir(), ns, submitSA)
	scfg := runChartSubmit(t, k, env)

	topics := scfg.Kafka.Topics()
	produce(t, k, topics.ImageBuilt, imageBuilt(jobs, "wordcount", "0123456789abcdef0123456789abcdef"))
	recs := k.Consume(t, topics.Deployed, 1, 60*time.Second)
	if len(recs) != 1 {
		t.Fatalf("deployed records = %d, want 1", len(recs))
	}
	hs := map[string]string{}
	for _, h := range recs[0].Headers {
		hs[h.Key] = string(h.Value)
	}
	ev, _, err := messages.DecodeMessage(hs, "", recs[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ev.(*messages.Deployed).WebUIURL, "https://wordcount.ing-jobs.flink.example.com/"; got != want {
		t.Errorf("web_ui_url = %q, want %q", got, want)
	}
	in, err := admin.NetworkingV1().Ingresses(jobs).Get(ctx, "wordcount", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if in.Spec.IngressClassName == nil || *in.Spec.IngressClassName != "nginx" || len(in.Spec.TLS) != 1 || in.Spec.TLS[0].SecretName != "flink-wildcard-tls" ||
		in.Annotations["nginx.ingress.kubernetes.io/proxy-body-size"] != "64m" || in.Annotations["nginx.ingress.kubernetes.io/auth-url"] != "https://auth.example.com/check?rd=a,b" || in.Spec.Rules[0].Host != "wordcount.ing-jobs.flink.example.com" {
		t.Errorf("Ingress = %+v, want the chart's template", in)
	}

	// Without ingress values, no Ingress verbs at all.
	const plain, plainNS, plainJobs = "noing", "ff-noing", "noing-jobs"
	out = helm(t, "template", plain, ".", "--namespace", plainNS, "--kube-version", kubetest.KubernetesVersion,
		"--set", "jobNamespaces={"+plainJobs+"}")
	applyManifests(t, cp, out, plainNS)
	user := serviceAccountUser(plainNS, plain+"-flinkferry-submit")
	waitAccess(t, admin, user, "patch", "apps", "deployments", plainJobs, true)
	for _, verb := range []string{"get", "create", "patch", "delete"} {
		if sar(t, admin, user, verb, "networking.k8s.io", "ingresses", plainJobs) {
			t.Errorf("without ingress values the submit worker may %s ingresses", verb)
		}
	}
}
