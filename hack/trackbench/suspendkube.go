package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/flinkferry/flinkferry/internal/kubetest"
)

// kubeEnv is the suspend mode's API server: kube-apiserver + etcd from
// internal/kubetest, without controller-manager (nothing owns the
// Deployments: a deleted Deployment is gone at once, and no ReplicaSet or
// pod is ever created), and the parent's admin client.
type kubeEnv struct {
	cp         *kubetest.ControlPlane
	cs         kubernetes.Interface
	kubeconfig string
}

// startKube starts the control plane with its files in dir and creates
// the benchmark's namespace.
func startKube(ctx context.Context, dir string) (*kubeEnv, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	cp, err := kubetest.StartControlPlane(ctx, dir, kubetest.Options{})
	if err != nil {
		return nil, err
	}
	cfg := cp.Config()
	cfg.QPS, cfg.Burst = 2000, 4000 // the parent's setup, not measured
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		_ = cp.Stop()
		return nil, err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: benchNamespace}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		_ = cp.Stop()
		return nil, fmt.Errorf("creating namespace %s: %w", benchNamespace, err)
	}
	return &kubeEnv{cp: cp, cs: cs, kubeconfig: cp.KubeconfigPath()}, nil
}

func (k *kubeEnv) stop() { _ = k.cp.Stop() }

// jobManagerLabels are the labels Flink's native Kubernetes integration
// puts on cluster i's JobManager Deployment (and its pod template).
func jobManagerLabels(i int) map[string]string {
	return map[string]string{"app": clusterName(i), "type": "flink-native-kubernetes", "component": "jobmanager"}
}

// jobManagerDeployment is cluster i's JobManager Deployment as the
// tracker's informers select it. It has no flinkferry annotations, so the
// worker's recovery leaves it alone (the parent registers the jobs).
func jobManagerDeployment(i int) *appsv1.Deployment {
	one := int32(1)
	l := jobManagerLabels(i)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: clusterName(i), Namespace: benchNamespace, Labels: l},
		Spec: appsv1.DeploymentSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: l},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: l},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "flink-main-container", Image: "flink:1.19.1-scala_2.12-java11", Args: []string{"kubernetes-application"},
				}}},
			},
		},
	}
}

// createDeployments removes every Deployment of the namespace (an earlier
// run's) and creates clusters 0..n-1's JobManager Deployments.
func (k *kubeEnv) createDeployments(ctx context.Context, n int) error {
	deps := k.cs.AppsV1().Deployments(benchNamespace)
	if err := deps.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
		return fmt.Errorf("deleting the earlier Deployments: %w", err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(32)
	for i := range n {
		g.Go(func() error {
			if _, err := deps.Create(gctx, jobManagerDeployment(i), metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("creating Deployment %s: %w", clusterName(i), err)
			}
			return nil
		})
	}
	return g.Wait()
}

// deploymentsLeft counts the namespace's Flink JobManager Deployments.
func (k *kubeEnv) deploymentsLeft(ctx context.Context) (int, error) {
	l, err := k.cs.AppsV1().Deployments(benchNamespace).List(ctx, metav1.ListOptions{LabelSelector: "type=flink-native-kubernetes"})
	if err != nil {
		return 0, fmt.Errorf("listing Deployments: %w", err)
	}
	return len(l.Items), nil
}

// requests returns the API server's requests so far on the kinds the
// track worker reads and deletes, by verb (apiserver_request_total).
func (k *kubeEnv) requests(ctx context.Context) (map[string]float64, error) {
	b, err := k.cs.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the API server's metrics: %w", err)
	}
	return parseAPIRequests(string(b))
}

// trackedResources are the resources the track worker's informers and
// cleanup use.
var trackedResources = map[string]bool{"deployments": true, "pods": true, "configmaps": true, "services": true}

// parseAPIRequests sums apiserver_request_total of the tracked resources
// by verb, from the Prometheus text format.
func parseAPIRequests(text string) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, "apiserver_request_total{")
		if !ok {
			continue
		}
		lbls, val, ok := strings.Cut(rest, "} ")
		if !ok {
			return nil, fmt.Errorf("parsing API server metrics: %q", line)
		}
		l := promLabels(lbls)
		if !trackedResources[l["resource"]] {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			return nil, fmt.Errorf("parsing API server metrics: %q: %w", line, err)
		}
		out[l["verb"]] += v
	}
	return out, sc.Err()
}

// promLabels reads `a="x",b="y"` (values without escaped quotes, as the
// API server's request labels are).
func promLabels(s string) map[string]string {
	out := map[string]string{}
	for s != "" {
		name, rest, ok := strings.Cut(s, `="`)
		if !ok {
			break
		}
		val, rest, _ := strings.Cut(rest, `"`)
		out[name] = val
		s = strings.TrimPrefix(rest, ",")
	}
	return out
}
