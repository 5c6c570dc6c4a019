package flinkferry_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/flinkferry/flinkferry/cmd/flinkferry/cli"
	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/internal/testenv"
)

// TestTopicsJob renders the topics hook Job, applies it to the real API
// server, and runs its command line with its environment (brokers
// replaced by a kfake cluster's) twice: six topics created with
// kafka.partitions, then six left alone.
func TestTopicsJob(t *testing.T) {
	const release, ns = "topics", "ff-topics"
	out := helm(t, "template", release, ".", "--namespace", ns, "--kube-version", kubetest.KubernetesVersion,
		"--set", "kafka.topicsJob.enabled=true", "--set", "kafka.partitions=6", "--set", "kafka.topicsJob.replicationFactor=1")
	applyManifests(t, kubetest.Shared(t), out, ns)
	u := rendered(t, out)["Job/"+release+"-flinkferry-topics"]
	if u == nil {
		t.Fatal("no topics Job")
	}
	var job batchv1.Job
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &job); err != nil {
		t.Fatal(err)
	}
	if got, want := job.Annotations["helm.sh/hook"], "pre-install,pre-upgrade"; got != want {
		t.Errorf("hook %q, want %q: the topics must exist before the workers start", got, want)
	}
	c := job.Spec.Template.Spec.Containers[0]
	k := testenv.Kafka(t)
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "FLINKFERRY_") {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
	for _, e := range c.Env {
		t.Setenv(e.Name, e.Value)
	}
	t.Setenv("FLINKFERRY_KAFKA_BROKERS", strings.Join(k.Brokers, ","))

	run := func() string {
		root := cli.New()
		var stdout, stderr bytes.Buffer
		root.SetOut(&stdout)
		root.SetErr(&stderr)
		root.SetArgs(c.Args)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := root.ExecuteContext(ctx); err != nil {
			t.Fatalf("flinkferry %s: %v\n%s", strings.Join(c.Args, " "), err, stderr.String())
		}
		return stdout.String()
	}
	first, second := run(), run()
	if got := strings.Count(first, "created"); got != 6 || !strings.Contains(first, "6 partitions") {
		t.Errorf("first run:\n%s\nwant six topics created with 6 partitions", first)
	}
	if got := strings.Count(second, "exists"); got != 6 || strings.Contains(second, "created") {
		t.Errorf("second run:\n%s\nwant the six topics left alone", second)
	}
}
