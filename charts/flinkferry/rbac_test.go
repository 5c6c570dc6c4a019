package flinkferry_test

import (
	"context"
	"os"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flinkferry/flinkferry/internal/flinksim"
	"github.com/flinkferry/flinkferry/internal/flinksim/simtest"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/internal/redisclient"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track"
)

// TestChartRBACIsEnoughAndNoMore is the chart's RBAC must-show. The chart
// is applied to the real API server (RBAC authorization on); tokens are
// minted for its submit and track ServiceAccounts (TokenRequest) and the
// two workers run, configured from the chart's own environment
// (ConfigMap and container env), with kubeconfigs holding those tokens.
// They deploy an application job (the JobManager Deployment, its
// ConfigMaps and Services, running as the chart's JobManager account),
// track it to RUNNING (watching Deployments and pods) and remove its
// cluster on cancel (the delete verbs). A namespace outside jobNamespaces
// is refused by Kubernetes itself: a real Forbidden error for each
// account, and SubjectAccessReviews that deny it while allowing the same
// request in the job namespace.
func TestChartRBACIsEnoughAndNoMore(t *testing.T) {
	const release, ns, jobs, other = "rbac", "ff-rbac", "rbac-jobs", "rbac-other"
	submitSA, trackSA := release+"-flinkferry-submit", release+"-flinkferry-track"
	cp := kubetest.Shared(t)
	admin := cp.Clientset()
	ctx := context.Background()
	out := helm(t, "template", release, ".", "--namespace", ns, "--kube-version", kubetest.KubernetesVersion,
		"--set", "jobNamespaces={"+jobs+"}")
	applyManifests(t, cp, out, ns)
	ensureNamespace(t, cp, other)
	// The RBAC authorizer learns of new bindings through a watch.
	waitAccess(t, admin, serviceAccountUser(ns, submitSA), "patch", "apps", "deployments", jobs, true)
	waitAccess(t, admin, serviceAccountUser(ns, trackSA), "watch", "", "pods", jobs, true)
	waitAccess(t, admin, serviceAccountUser(jobs, "flink"), "create", "", "pods", jobs, true)

	k, r := testenv.Kafka(t), testenv.Redis(t)
	sim, hc := simtest.HostRouted(t, 16)
	dir := t.TempDir()

	// The submit worker, as its ServiceAccount, with the chart's settings.
	env := chartEnv(t, admin, ns, release, "submit")
	env["FLINKFERRY_SUBMIT_KUBECONFIG"] = kubeconfigFile(t, cp, dir, ns, submitSA)
	scfg := runChartSubmit(t, k, env)

	// The track worker, as its ServiceAccount, polling the simulator.
	env = chartEnv(t, admin, ns, release, "track")
	env["FLINKFERRY_TRACK_KUBECONFIG"] = kubeconfigFile(t, cp, dir, ns, trackSA)
	for k, v := range map[string]string{
		"FLINKFERRY_TRACK_JOB_STATUS_INTERVAL": "500ms", "FLINKFERRY_TRACK_CLUSTER_METRIC_INTERVAL": "1s",
		"FLINKFERRY_TRACK_REQUEST_TIMEOUT": "400ms", "FLINKFERRY_TRACK_SHARDS": "8", "FLINKFERRY_TRACK_LEASE_TTL": "2s",
		"FLINKFERRY_TRACK_OPERATION_INTERVAL": "200ms", "FLINKFERRY_TRACK_REPLICA_ID": "rbac-1",
	} {
		env[k] = v
	}
	var tcfg track.Config
	loadConfig(t, env, &tcfg)
	tcfg.Common = k.WorkerCommon()
	tcfg.Kafka.TopicPrefix = scfg.Kafka.TopicPrefix
	tcfg.Redis = redisclient.Config{URL: r.URL(), Timeout: 2 * time.Second}
	testenv.RunWorker(t, track.Spec(tcfg, track.Overrides{HTTPClient: hc}))

	// An application job: image built -> deployed by submit -> tracked.
	const id, jobID = "rbac-wordcount", "0123456789abcdef0123456789abcdef"
	jm := sim.AddCluster(kubeclusters.RestServiceName(id), flinksim.ClusterOptions{
		Application: true,
		Jobs:        []flinksim.JobSpec{{ID: jobID, Script: flinksim.Script{{State: flinksim.Running}}}},
	})
	topics := scfg.Kafka.Topics()
	produce(t, k, topics.ImageBuilt, imageBuilt(jobs, id, jobID))
	deployedRecs := k.Consume(t, topics.Deployed, 1, 60*time.Second)
	if len(deployedRecs) != 1 {
		t.Fatalf("deployed records = %d, want 1 (the submit worker's rights were not enough?)", len(deployedRecs))
	}
	d, err := admin.AppsV1().Deployments(jobs).Get(ctx, id, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.Spec.Template.Spec.ServiceAccountName, "flink"; got != want {
		t.Errorf("JobManager runs as %q, want the chart's JobManager account %q", got, want)
	}
	if _, err := kubetest.RunDeployment(ctx, admin, d); err != nil {
		t.Fatal(err)
	}
	store := newStore(t, r.URL(), 8)
	key := messages.JobRef{Namespace: jobs, ClusterID: id}.Key()
	waitJob(t, store, key, messages.StateRunning, 30*time.Second)

	// The JobManager's account creates its TaskManagers in its namespace.
	flink := clientAs(t, cp, jobs, "flink")
	tm := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: id + "-taskmanager-1-1", Labels: map[string]string{"app": id, "type": "flink-native-kubernetes", "component": "taskmanager"}},
		Spec: corev1.PodSpec{ServiceAccountName: "flink", RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "flink-main-container", Image: "flink:1.20"}}}}
	if _, err := flink.CoreV1().Pods(jobs).Create(ctx, tm, metav1.CreateOptions{}); err != nil {
		t.Errorf("the JobManager account cannot create its TaskManager pod: %v", err)
	}
	ha := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: id + "-cluster-config-map", Labels: map[string]string{"app": id, "type": "flink-native-kubernetes", "configmap-type": "high-availability"}}}
	if _, err := flink.CoreV1().ConfigMaps(jobs).Create(ctx, ha, metav1.CreateOptions{}); err != nil {
		t.Errorf("the JobManager account cannot create its HA ConfigMap: %v", err)
	}

	// Cancel: the track worker cancels through Flink and removes the
	// whole cluster with its own rights.
	produce(t, k, topics.Control, &messages.ControlRequested{RequestID: "rbac-cancel", Job: messages.JobRef{Namespace: jobs, ClusterID: id}, Operation: messages.OpCancel})
	deadline := time.Now().Add(30 * time.Second)
	for {
		// The kubelet confirms pod deletions.
		if err := kubetest.FinishPodDeletions(ctx, admin, jobs); err != nil {
			t.Fatal(err)
		}
		j, err := store.Get(ctx, key)
		if err == nil && j.State == messages.StateCanceled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %+v (%v), want CANCELED with its cluster removed", j, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := admin.AppsV1().Deployments(jobs).Get(ctx, id, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("JobManager Deployment after cancel: %v, want not found", err)
	}
	if _, err := admin.CoreV1().ConfigMaps(jobs).Get(ctx, ha.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("HA ConfigMap after cancel: %v, want not found", err)
	}
	if st := jm.Job(jobID).State(); st != flinksim.Canceled {
		t.Errorf("Flink job %s, want CANCELED", st)
	}

	// No more: outside jobNamespaces Kubernetes refuses each account.
	submitKube := clientAs(t, cp, ns, submitSA)
	trackKube := clientAs(t, cp, ns, trackSA)
	for _, c := range []struct {
		who                   string
		user                  string
		do                    func(ns string) error
		verb, group, resource string
	}{
		{"submit", serviceAccountUser(ns, submitSA), func(ns string) error {
			_, err := submitKube.AppsV1().Deployments(ns).Create(ctx, tinyDeployment(ns, "intruder"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			return err
		}, "create", "apps", "deployments"},
		{"submit", serviceAccountUser(ns, submitSA), func(ns string) error {
			_, err := submitKube.CoreV1().ConfigMaps(ns).Get(ctx, "anything", metav1.GetOptions{})
			return err
		}, "get", "", "configmaps"},
		{"track", serviceAccountUser(ns, trackSA), func(ns string) error {
			_, err := trackKube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			return err
		}, "list", "", "pods"},
		{"track", serviceAccountUser(ns, trackSA), func(ns string) error {
			return trackKube.AppsV1().Deployments(ns).Delete(ctx, "anything", metav1.DeleteOptions{})
		}, "delete", "apps", "deployments"},
		{"jobmanager", serviceAccountUser(jobs, "flink"), func(ns string) error {
			_, err := flink.CoreV1().Pods(ns).Create(ctx, tm, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			return err
		}, "create", "", "pods"},
	} {
		err := c.do(other)
		if !apierrors.IsForbidden(err) {
			t.Errorf("%s %s %s in %s: %v, want Forbidden", c.who, c.verb, c.resource, other, err)
		} else {
			t.Logf("%s %s %s in %s: %v", c.who, c.verb, c.resource, other, err)
		}
		if sar(t, admin, c.user, c.verb, c.group, c.resource, other) {
			t.Errorf("SubjectAccessReview: %s may %s %s in %s, want denied", c.who, c.verb, c.resource, other)
		}
		if !sar(t, admin, c.user, c.verb, c.group, c.resource, jobs) {
			t.Errorf("SubjectAccessReview: %s may not %s %s in %s, want allowed", c.who, c.verb, c.resource, jobs)
		}
	}
	// Nor secrets anywhere: nothing in the chart reads them.
	for _, c := range []struct{ who, user string }{{"submit", serviceAccountUser(ns, submitSA)}, {"track", serviceAccountUser(ns, trackSA)}, {"jobmanager", serviceAccountUser(jobs, "flink")}} {
		if sar(t, admin, c.user, "get", "", "secrets", jobs) {
			t.Errorf("%s may read Secrets in %s", c.who, jobs)
		}
	}
	if _, err := trackKube.CoreV1().Secrets(jobs).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("track lists Secrets in %s: %v, want Forbidden", jobs, err)
	}
	// The build worker never calls Kubernetes: no token mounted, no rights.
	sa, err := admin.CoreV1().ServiceAccounts(ns).Get(ctx, release+"-flinkferry-build", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Errorf("build ServiceAccount mounts a token")
	}
	for _, verb := range []string{"get", "list", "create"} {
		if sar(t, admin, serviceAccountUser(ns, release+"-flinkferry-build"), verb, "", "pods", jobs) {
			t.Errorf("build may %s pods in %s", verb, jobs)
		}
	}
}

// TestDocsJobManagerRoleIsTheCharts: docs/rbac/flink-jobmanager.yaml, the
// Role for installs without the chart, grants exactly the rules of the
// chart's JobManager Role (the one TestChartRBACIsEnoughAndNoMore runs a
// cluster under).
func TestDocsJobManagerRoleIsTheCharts(t *testing.T) {
	out := helm(t, "template", "rbac", ".", "--namespace", "ff-rbac", "--kube-version", kubetest.KubernetesVersion,
		"--set", "jobNamespaces={rbac-jobs}")
	chartRole, ok := rendered(t, out)["Role/rbac-flinkferry-jobmanager"]
	if !ok {
		t.Fatal("the chart renders no Role rbac-flinkferry-jobmanager")
	}
	b, err := os.ReadFile("../../docs/rbac/flink-jobmanager.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docsRole, ok := rendered(t, b)["Role/flink-jobmanager"]
	if !ok {
		t.Fatal("docs/rbac/flink-jobmanager.yaml holds no Role flink-jobmanager")
	}
	if got, want := docsRole.Object["rules"], chartRole.Object["rules"]; !reflect.DeepEqual(got, want) {
		t.Errorf("docs/rbac/flink-jobmanager.yaml rules =\n%v\nwant the chart's\n%v", got, want)
	}
}
