package track

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Labels Flink's native Kubernetes integration puts on its objects, and
// the annotations the submit worker adds to the JobManager Deployment.
const (
	labelType          = "type"
	labelTypeValue     = "flink-native-kubernetes"
	labelApp           = "app"
	labelComponent     = "component"
	componentJM        = "jobmanager"
	annotationRequest  = "flinkferry.io/request-id"
	annotationMode     = "flinkferry.io/mode"
	annotationFlinkJob = "flinkferry.io/flink-job-id"
	indexByApp         = "flinkferry-app"
	// The submit worker's run mark (workers/submit/runmark.go): the
	// request ids it applied to a cluster, kept across suspends, removed
	// by a delete.
	labelRunsOf    = "flinkferry.io/runs-of"
	labelManagedBy = "app.kubernetes.io/managed-by"
)

// KubeView is what one kube cluster's informers show for one Flink
// cluster (namespace and cluster id).
type KubeView struct {
	// Known is false while the informers have not synced or the last watch
	// failed and has not recovered: the cache may be stale, so absence
	// means nothing.
	Known bool
	// Deployment is the JobManager Deployment, nil when absent.
	Deployment *appsv1.Deployment
	// Pods are the JobManager pods.
	Pods []*corev1.Pod
}

// kubeWatcher keeps one informer on JobManager Deployments and one on
// JobManager pods per kube cluster (and per allowed namespace, or
// cluster-wide for "*"), selected by Flink's labels. It never lists per
// job: every lookup reads the cache.
type kubeWatcher struct {
	name      string
	log       *slog.Logger
	factories []informers.SharedInformerFactory
	deps      []cache.SharedIndexInformer
	pods      []cache.SharedIndexInformer
	synced    atomic.Bool
	// healthy is the last answer of the API server to a probe: client-go
	// reflectors retry a refused watch silently, so an API server that
	// went away is seen only by asking it.
	healthy atomic.Bool
	kube    kubernetes.Interface
	// watchErrors counts informers whose last list/watch failed; they
	// clear it on their next successful event or resync.
	mu       sync.Mutex
	failing  map[cache.SharedIndexInformer]time.Time
	onChange func(namespace, clusterID string)
}

// newKubeWatcher prepares the informers of one kube cluster. onChange is
// called (from informer goroutines) with the Flink cluster whose
// Deployment or JobManager pods changed.
func newKubeWatcher(name string, kube kubernetes.Interface, namespaces []string, resync time.Duration, log *slog.Logger, onChange func(namespace, clusterID string)) *kubeWatcher {
	w := &kubeWatcher{name: name, log: log, kube: kube, failing: map[cache.SharedIndexInformer]time.Time{}, onChange: onChange}
	w.healthy.Store(true)
	selector := func(o *metav1.ListOptions) {
		o.LabelSelector = labelType + "=" + labelTypeValue + "," + labelComponent + "=" + componentJM
	}
	if len(namespaces) == 0 || contains(namespaces, "*") {
		namespaces = []string{metav1.NamespaceAll}
	}
	for _, ns := range namespaces {
		f := informers.NewSharedInformerFactoryWithOptions(listThenWatch{kube}, resync,
			informers.WithNamespace(ns), informers.WithTweakListOptions(selector))
		d := f.Apps().V1().Deployments().Informer()
		p := f.Core().V1().Pods().Informer()
		if err := p.AddIndexers(cache.Indexers{indexByApp: podAppIndex}); err != nil {
			panic(err) // only fails once the informer has started
		}
		for _, inf := range []cache.SharedIndexInformer{d, p} {
			_ = inf.SetWatchErrorHandlerWithContext(w.watchErrorHandler(inf))
			_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
				AddFunc:    func(o any) { w.changed(inf, o) },
				UpdateFunc: func(_, o any) { w.changed(inf, o) },
				DeleteFunc: func(o any) { w.changed(inf, o) },
			})
		}
		w.factories = append(w.factories, f)
		w.deps = append(w.deps, d)
		w.pods = append(w.pods, p)
	}
	return w
}

// listThenWatch is a client whose informers list, then watch, instead
// of streaming their initial list over a watch (client-go's
// WatchListClient, on by default since 1.35). While the API server
// refuses connections, the streaming path retries after a backoff sleep
// that ignores the informer's stop channel (tools/cache reflector.go,
// watchList, client-go v0.37.2), and the backoff grows to 30-60 s: the
// informer factory's Shutdown waited for it, so stopping the worker took
// as long as the sleep left (TestTrackShutdownAfterLongAPIServerOutage).
// The list-then-watch path waits on the stop channel. Its cost, one LIST
// per (re)sync, is small here: the informers select JobManager
// Deployments and pods by label.
type listThenWatch struct{ kubernetes.Interface }

// IsWatchListSemanticsUnSupported tells client-go's informers not to use
// the streaming watch-list.
func (listThenWatch) IsWatchListSemanticsUnSupported() bool { return true }

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// podAppIndex indexes JobManager pods by "<namespace>/<app label>".
func podAppIndex(obj any) ([]string, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, nil
	}
	return []string{p.Namespace + "/" + p.Labels[labelApp]}, nil
}

// run starts the informers and waits for their first sync; it returns
// when ctx ends.
func (w *kubeWatcher) run(ctx context.Context) error {
	for _, f := range w.factories {
		f.Start(ctx.Done())
	}
	for _, f := range w.factories {
		for typ, ok := range f.WaitForCacheSync(ctx.Done()) {
			if !ok && ctx.Err() == nil {
				return fmt.Errorf("kube cluster %s: informer for %v did not sync", w.name, typ)
			}
		}
	}
	if ctx.Err() == nil {
		w.synced.Store(true)
		w.log.Info("kubernetes informers synced", "kube_cluster", w.name)
	}
	w.probe(ctx, probeInterval)
	for _, f := range w.factories {
		f.Shutdown()
	}
	return nil
}

// probeInterval is how often the API server is asked whether it is up.
const probeInterval = 2 * time.Second

// probe asks the API server's /readyz (readable by every authenticated
// client) every interval until ctx ends, and marks the caches unknown
// while it does not answer. A client without an HTTP connection (client-go's
// in-memory fake clientset, used by `flinkferry dev` without control-plane
// binaries) has no server to go away: it is not probed.
func (w *kubeWatcher) probe(ctx context.Context, interval time.Duration) {
	if w.kube.Discovery().RESTClient() == nil {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, interval)
		// Not through the client's rate limiter: a busy worker (a
		// thousand clusters being deleted) waits for its own tokens, which
		// says nothing about the API server (BENCHMARKS.md, suspends).
		err := w.kube.Discovery().RESTClient().Get().Throttle(nil).AbsPath("/readyz").Do(pctx).Error()
		cancel()
		if ctx.Err() != nil {
			return
		}
		switch was := w.healthy.Swap(err == nil); {
		case was && err != nil:
			w.log.Warn("kubernetes API server does not answer; states from this cluster are unknown until it does", "kube_cluster", w.name, "error", err.Error())
		case !was && err == nil:
			w.log.Info("kubernetes API server answers again", "kube_cluster", w.name)
		}
	}
}

func (w *kubeWatcher) watchErrorHandler(inf cache.SharedIndexInformer) cache.WatchErrorHandlerWithContext {
	return func(ctx context.Context, r *cache.Reflector, err error) {
		w.mu.Lock()
		if _, ok := w.failing[inf]; !ok {
			w.failing[inf] = time.Now()
		}
		w.mu.Unlock()
		w.log.Warn("kubernetes watch failed; states from this cluster are unknown until it recovers", "kube_cluster", w.name, "error", err.Error())
		cache.DefaultWatchErrorHandler(ctx, r, err)
	}
}

// changed clears inf's failure (an event means its watch works again) and
// reports the Flink cluster the object belongs to.
func (w *kubeWatcher) changed(inf cache.SharedIndexInformer, obj any) {
	w.mu.Lock()
	delete(w.failing, inf)
	w.mu.Unlock()
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	m, err := metaOf(obj)
	if err != nil || w.onChange == nil {
		return
	}
	id := m.GetLabels()[labelApp]
	if id == "" {
		id = m.GetName()
	}
	w.onChange(m.GetNamespace(), id)
}

func metaOf(obj any) (metav1.Object, error) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return o, nil
	case *corev1.Pod:
		return o, nil
	}
	return nil, fmt.Errorf("unexpected object %T", obj)
}

// known reports whether the caches can be trusted: synced, and no watch
// failing since its last event. A watch that failed and then relisted
// without any change stays "failing" until the next event or resync, which
// is the conservative side (unknown, never gone).
func (w *kubeWatcher) known() bool {
	if !w.synced.Load() || !w.healthy.Load() {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for inf, since := range w.failing {
		// The reflector relists after a failure; once the informer has
		// synced again after the failure and a resync period passed, trust it.
		if inf.HasSynced() && time.Since(since) > 2*time.Minute {
			delete(w.failing, inf)
			continue
		}
		return false
	}
	return true
}

// view returns what the caches hold for Flink cluster ns/clusterID.
func (w *kubeWatcher) view(ns, clusterID string) KubeView {
	v := KubeView{Known: w.known()}
	key := ns + "/" + clusterID
	for i := range w.deps {
		if o, ok, _ := w.deps[i].GetStore().GetByKey(key); ok {
			v.Deployment = o.(*appsv1.Deployment)
		}
		objs, _ := w.pods[i].GetIndexer().ByIndex(indexByApp, key)
		for _, o := range objs {
			v.Pods = append(v.Pods, o.(*corev1.Pod))
		}
	}
	return v
}

// deployments returns every JobManager Deployment flinkferry created (the
// request-id annotation), for recovery.
func (w *kubeWatcher) deployments() []*appsv1.Deployment {
	var out []*appsv1.Deployment
	for _, d := range w.deps {
		for _, o := range d.GetStore().List() {
			dep := o.(*appsv1.Deployment)
			if dep.Annotations[annotationRequest] != "" {
				out = append(out, dep)
			}
		}
	}
	return out
}
