package flinkferry_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/internal/testenv"
)

// TestTwoClusters renders testdata/values/clusters.yaml (this cluster
// and eu-west, whose kubeconfig is a Secret) and checks the clusters file
// against what the pods mount: the submit and track workers mount the
// Secret at the path the file names, the build worker reads the file only.
// Then the submit worker runs on that file, with the mounts replaced by
// files (this cluster: a token of the chart's submit ServiceAccount, as
// in-cluster; eu-west: a second real API server under the context the
// values name), and one request per cluster lands on the right one.
func TestTwoClusters(t *testing.T) {
	const release, ns = "clusters", "ff-clusters"
	out := render(t, release, "testdata/values/clusters.yaml")
	cp := kubetest.Shared(t)
	applyManifests(t, cp, out, ns)
	admin := cp.Clientset()
	ctx := context.Background()

	cm, err := admin.CoreV1().ConfigMaps(ns).Get(ctx, release+"-flinkferry-clusters", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	file := cm.Data["clusters.yaml"]
	const remotePath = "/etc/flinkferry/kube/eu-west/kubeconfig"
	if !strings.Contains(file, "kubeconfig: "+remotePath) {
		t.Fatalf("clusters file does not read eu-west's kubeconfig from %s:\n%s", remotePath, file)
	}
	for _, w := range []string{"build", "submit", "track"} {
		d, err := admin.AppsV1().Deployments(ns).Get(ctx, release+"-flinkferry-"+w, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pod := d.Spec.Template.Spec
		mounts := map[string]string{}
		for _, m := range pod.Containers[0].VolumeMounts {
			mounts[m.Name] = m.MountPath
		}
		if mounts["clusters"] != "/etc/flinkferry/clusters" {
			t.Errorf("%s: clusters file mounted at %q", w, mounts["clusters"])
		}
		var secret *corev1.SecretVolumeSource
		for _, v := range pod.Volumes {
			if v.Name == "kube-eu-west" {
				secret = v.Secret
			}
		}
		if w == "build" {
			if secret != nil {
				t.Errorf("build mounts a kubeconfig; it never calls Kubernetes")
			}
			continue
		}
		if secret == nil || secret.SecretName != "kube-eu-west" || len(secret.Items) != 1 || secret.Items[0].Key != "config" ||
			mounts["kube-eu-west"]+"/"+secret.Items[0].Path != remotePath {
			t.Errorf("%s: eu-west's Secret %+v mounted at %q, want kube-eu-west key config at %s", w, secret, mounts["kube-eu-west"], remotePath)
		}
	}

	// The file as the pods see it, kubeconfigs as files.
	dir := t.TempDir()
	remote := kubetest.Start(t, kubetest.Options{})
	kubetest.CreateNamespace(t, remote.Clientset(), "flink-batch")
	kc := strings.NewReplacer("- name: kubetest\n  context:", "- name: flinkferry@eu-west\n  context:", "current-context: kubetest", "current-context: flinkferry@eu-west").
		Replace(string(remote.Kubeconfig()))
	if err := os.MkdirAll(filepath.Join(dir, "eu-west"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "eu-west", "kubeconfig"), []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	local := kubeconfigFile(t, cp, dir, ns, release+"-flinkferry-submit")
	file = strings.Replace(file, "/etc/flinkferry/kube/", dir+"/", 1)
	file = strings.Replace(file, "- allowedNamespaces:\n  - flink-jobs\n", "- kubeconfig: "+local+"\n  allowedNamespaces:\n  - flink-jobs\n", 1)
	clustersFile := filepath.Join(dir, "clusters.yaml")
	if err := os.WriteFile(clustersFile, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgs, err := kubeclusters.Load(clustersFile)
	if err != nil {
		t.Fatalf("the workers refuse the chart's clusters file: %v\n%s", err, file)
	}
	if len(cfgs) != 2 || !cfgs[0].Default || cfgs[1].Context != "flinkferry@eu-west" || cfgs[1].RestAccess != kubeclusters.RestAccessProxy {
		t.Errorf("clusters = %+v", cfgs)
	}

	env := chartEnv(t, admin, ns, release, "submit")
	env["FLINKFERRY_SUBMIT_CLUSTERS_FILE"] = clustersFile
	k := testenv.Kafka(t)
	scfg := runChartSubmit(t, k, env)
	waitAccess(t, admin, serviceAccountUser(ns, release+"-flinkferry-submit"), "patch", "apps", "deployments", "flink-jobs", true)

	topics := scfg.Kafka.Topics()
	here := imageBuilt("flink-jobs", "here", "00000000000000000000000000000001")
	there := imageBuilt("flink-batch", "there", "00000000000000000000000000000002")
	there.Job.KubeCluster, there.Request.Job.KubeCluster = "eu-west", "eu-west"
	// eu-west allows only flink; admission reads a request without a
	// service account as "default", whatever FLINKFERRY_SUBMIT_FLINK_CONF
	// makes the JobManager run as (docs/decisions.md, issue 16).
	there.Request.Kubernetes.ServiceAccount = "flink"
	produce(t, k, topics.ImageBuilt, here)
	produce(t, k, topics.ImageBuilt, there)
	if recs := k.Consume(t, topics.Deployed, 2, 30*time.Second); len(recs) != 2 {
		t.Fatalf("deployed records = %d, want 2", len(recs))
	}
	for _, c := range []struct {
		where, ns, id string
		cs, not       *kubetest.ControlPlane
	}{{"this cluster", "flink-jobs", "here", cp, remote}, {"eu-west", "flink-batch", "there", remote, cp}} {
		if _, err := c.cs.Clientset().AppsV1().Deployments(c.ns).Get(ctx, c.id, metav1.GetOptions{}); err != nil {
			t.Errorf("%s: JobManager Deployment %s/%s: %v", c.where, c.ns, c.id, err)
		}
		if _, err := c.not.Clientset().AppsV1().Deployments(c.ns).Get(ctx, c.id, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s: Deployment %s/%s also on the other cluster: %v", c.where, c.ns, c.id, err)
		}
	}
}

// TestClustersRefused: a cluster entry for this cluster outside
// jobNamespaces (where the chart grants no RBAC) or two default clusters
// are refused at render time.
func TestClustersRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  []string
		want string
	}{
		{"namespace without RBAC", []string{"kubeClusters[0].name=here", "kubeClusters[0].allowedNamespaces={flink-jobs,kube-system}"},
			`kubeClusters[0] (here) is this cluster: allowedNamespaces "kube-system" must be in jobNamespaces`},
		{"two defaults", []string{"kubeClusters[0].name=a", "kubeClusters[0].allowedNamespaces={flink-jobs}", "kubeClusters[0].default=true",
			"kubeClusters[1].name=b", "kubeClusters[1].existingSecret=s", "kubeClusters[1].allowedNamespaces={x}", "kubeClusters[1].default=true"},
			"kubeClusters: more than one cluster is marked default"},
		{"same name", []string{"kubeClusters[0].name=a", "kubeClusters[0].allowedNamespaces={flink-jobs}",
			"kubeClusters[1].name=a", "kubeClusters[1].existingSecret=s", "kubeClusters[1].allowedNamespaces={x}"},
			`kubeClusters[1]: name "a" is used twice`},
	} {
		t.Run(tc.name, func(t *testing.T) { wantRefused(t, tc.want, tc.set...) })
	}
}
