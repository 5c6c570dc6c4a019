package dev

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/flinkferry/flinkferry/internal/flinkrest"
	"github.com/flinkferry/flinkferry/internal/flinksim"
	"github.com/flinkferry/flinkferry/internal/kubetest"
)

// Kubernetes kinds reported in Kube.Kind and the devstate file.
const (
	KubeReal      = "real"
	KubeSimulated = "simulated (local kube-apiserver + etcd, Flink REST simulator)"
	KubeFake      = "simulated (in-memory fake clientset, Flink REST simulator)"
)

// KubeOptions chooses the Kubernetes target.
type KubeOptions struct {
	// Kubeconfig is a real cluster's kubeconfig; empty starts a simulated
	// cluster: a local control plane when the kube-apiserver and etcd
	// binaries are found (internal/kubetest), else client-go's in-memory
	// fake clientset.
	Kubeconfig string
	// FakeClientset simulates the cluster with the fake clientset even
	// when the control-plane binaries are installed (tests of the
	// fallback).
	FakeClientset bool
	// StartDelay is how long the simulated kubelet waits before a
	// JobManager Deployment becomes available (default 2s).
	StartDelay time.Duration
	// Logger receives the simulation's warnings (default: discard).
	Logger *slog.Logger
	// CheckpointInterval is how often the simulated jobs complete a
	// checkpoint (default 3s), so that last-state upgrades and restores
	// have one; negative: no checkpoints.
	CheckpointInterval time.Duration
}

// Kube is the Kubernetes target of the dev environment.
type Kube struct {
	// Client talks to the cluster.
	Client kubernetes.Interface
	// Kind is KubeReal, KubeSimulated or KubeFake.
	Kind string
	// Kubeconfig is the path of a kubeconfig for the cluster; empty for
	// KubeFake, which has no API server to connect to.
	Kubeconfig string
	// Sim is the Flink REST simulator (nil on a real cluster).
	Sim *flinksim.Server
	// FlinkHTTP reaches every JobManager: on a simulated cluster it dials
	// the simulator whatever the host; on a real one it is nil (default).
	FlinkHTTP *http.Client

	closers []func()
}

// StartKube connects to the real cluster of o.Kubeconfig, or starts a
// simulated one: kube-apiserver + etcd from internal/kubetest when their
// binaries are found and not o.FakeClientset, else an in-memory fake
// clientset (NewFakeClientset); both with a kubelet simulation and the
// Flink REST simulator. It creates Namespace.
func StartKube(ctx context.Context, o KubeOptions) (_ *Kube, err error) {
	k := &Kube{}
	defer func() {
		if err != nil {
			k.Close()
		}
	}()
	if o.StartDelay <= 0 {
		o.StartDelay = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Kubeconfig != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", o.Kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("reading kubeconfig %s: %w", o.Kubeconfig, err)
		}
		if k.Client, err = kubernetes.NewForConfig(cfg); err != nil {
			return nil, fmt.Errorf("connecting to Kubernetes: %w", err)
		}
		k.Kind, k.Kubeconfig = KubeReal, o.Kubeconfig
		return k, ensureNamespace(ctx, k.Client)
	}
	if o.FakeClientset || !kubetest.Available() {
		k.Client, k.Kind = NewFakeClientset(), KubeFake
	} else {
		dir, err := os.MkdirTemp("", "flinkferry-dev-kube-")
		if err != nil {
			return nil, err
		}
		k.closers = append(k.closers, func() { os.RemoveAll(dir) })
		cp, err := kubetest.StartControlPlane(ctx, dir, kubetest.Options{})
		if err != nil {
			return nil, fmt.Errorf("starting the simulated Kubernetes control plane: %w", err)
		}
		k.closers = append(k.closers, func() { _ = cp.Stop() })
		k.Client, k.Kind, k.Kubeconfig = cp.Clientset(), KubeSimulated, cp.KubeconfigPath()
	}
	if err := ensureNamespace(ctx, k.Client); err != nil {
		return nil, err
	}
	if o.CheckpointInterval == 0 {
		o.CheckpointInterval = 3 * time.Second
	}
	k.Sim = flinksim.New(flinksim.ServerOptions{HostRouting: true, Checkpoints: flinksim.CheckpointSpec{Interval: max(o.CheckpointInterval, 0)}})
	base, err := k.Sim.Start()
	if err != nil {
		return nil, fmt.Errorf("starting the Flink REST simulator: %w", err)
	}
	k.closers = append(k.closers, func() { _ = k.Sim.Close() })
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	tr := flinkrest.NewTransport(64)
	tr.Proxy = nil
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, u.Host)
	}
	k.closers = append(k.closers, tr.CloseIdleConnections)
	k.FlinkHTTP = &http.Client{Transport: tr}
	kctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	k.closers = append(k.closers, func() { cancel(); wg.Wait() })
	if err := runKubelet(kctx, &wg, k.Client, k.Sim, o.StartDelay, o.Logger); err != nil {
		return nil, err
	}
	return k, nil
}

// Close stops the simulation and the control plane; it leaves a real
// cluster alone. It is safe to call more than once.
func (k *Kube) Close() {
	for i := len(k.closers) - 1; i >= 0; i-- {
		k.closers[i]()
	}
	k.closers = nil
}

func ensureNamespace(ctx context.Context, cs kubernetes.Interface) error {
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", Namespace, err)
	}
	return nil
}

// Labels and annotations the kubelet simulation reads (Flink native
// Kubernetes and the submit worker).
const (
	jobManagerSelector = "type=flink-native-kubernetes,component=jobmanager"
	annotationFlinkJob = "flinkferry.io/flink-job-id"
)

// runKubelet plays the kubelet for JobManager Deployments in Namespace:
// delay after one appears, it adds a simulated Flink cluster
// "<name>-rest" (an application cluster running the annotated job id, or
// an empty session cluster), creates a running pod and marks the
// Deployment available. A deleted Deployment removes its simulated cluster.
func runKubelet(ctx context.Context, wg *sync.WaitGroup, cs kubernetes.Interface, sim *flinksim.Server, delay time.Duration, log *slog.Logger) error {
	f := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = jobManagerSelector }))
	inf := f.Apps().V1().Deployments().Informer()
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			d, ok := obj.(*appsv1.Deployment)
			if !ok {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				select {
				case <-ctx.Done():
					return
				case <-time.After(delay):
				}
				if err := startJobManager(ctx, cs, sim, d); err != nil && ctx.Err() == nil {
					log.Warn("dev kubelet: starting a JobManager", "deployment", d.Name, "error", err)
				}
			}()
		},
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if d, ok := obj.(*appsv1.Deployment); ok {
				sim.RemoveCluster(d.Name + "-rest")
			}
		},
	})
	if err != nil {
		return fmt.Errorf("watching Deployments: %w", err)
	}
	// Like a kubelet, finish the deletion of the pods it runs: a pod bound
	// to a node stays Terminating until its kubelet confirms.
	pf := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = "spec.nodeName=" + kubetest.NodeName }))
	pinf := pf.Core().V1().Pods().Informer()
	finish := func(obj any) {
		p, ok := obj.(*corev1.Pod)
		if !ok || p.DeletionTimestamp == nil {
			return
		}
		zero := int64(0)
		if err := cs.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil &&
			!apierrors.IsNotFound(err) && ctx.Err() == nil {
			log.Warn("dev kubelet: finishing a pod's deletion", "pod", p.Name, "error", err)
		}
	}
	if _, err := pinf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: finish, UpdateFunc: func(_, n any) { finish(n) }}); err != nil {
		return fmt.Errorf("watching pods: %w", err)
	}
	f.Start(ctx.Done())
	pf.Start(ctx.Done())
	wg.Add(1)
	go func() { defer wg.Done(); <-ctx.Done(); f.Shutdown(); pf.Shutdown() }()
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced, pinf.HasSynced) {
		return errors.New("watching Deployments and pods: cache did not sync")
	}
	return nil
}

func startJobManager(ctx context.Context, cs kubernetes.Interface, sim *flinksim.Server, d *appsv1.Deployment) error {
	opts := flinksim.ClusterOptions{FlinkVersion: "1.20.1"}
	if id := d.Annotations[annotationFlinkJob]; id != "" {
		opts.Application = true
		opts.Jobs = []flinksim.JobSpec{{ID: id, Name: d.Name}}
	}
	if sim.Cluster(d.Name+"-rest") == nil {
		sim.AddCluster(d.Name+"-rest", opts)
	}
	if _, err := kubetest.CreatePodFor(ctx, cs, d, corev1.PodRunning, nil); err != nil {
		return err
	}
	replicas := int32(1)
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}
	return kubetest.SetDeploymentAvailable(ctx, cs, d.Namespace, d.Name, replicas)
}
