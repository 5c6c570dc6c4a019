package track

import (
	"context"
	"log/slog"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

const (
	annotationKubeCluster = "flinkferry.io/kube-cluster"
	// annotationWebUIURL is the Web UI Ingress's URL (submit.AnnotationWebUIURL).
	annotationWebUIURL = "flinkferry.io/web-ui-url"
)

// recovery rebuilds the tracked set from Kubernetes: every JobManager
// Deployment the submit worker created is registered again (a no-op when
// Redis already has its run), so a flushed or replaced Redis loses no
// application job or session cluster. Session jobs have no Kubernetes
// object of their own and are not recovered this way (docs/tracking.md).
type recovery struct {
	store    Store
	kubes    map[string]*kubeWatcher
	clusters *kubeclusters.Set
	log      *slog.Logger
}

// run recovers once the informers have synced, then every interval.
func (r *recovery) run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if time.Since(last) < interval {
			continue
		}
		all := true
		for _, w := range r.kubes {
			all = all && w.synced.Load()
		}
		if !all {
			continue
		}
		n, err := r.once(ctx)
		if err != nil {
			r.log.Warn("recovering tracked jobs from Kubernetes", "error", err.Error())
			continue
		}
		last = time.Now()
		r.log.Info("tracked jobs recovered from Kubernetes", "deployments", n)
	}
}

// once registers every flinkferry Deployment the informers hold that
// Redis does not know; jobs Redis has are left alone (no API calls).
func (r *recovery) once(ctx context.Context) (int, error) {
	var evs []*messages.Deployed
	for _, w := range r.kubes {
		for _, d := range w.deployments() {
			if ev := deployedFrom(d); ev != nil {
				evs = append(evs, ev)
			}
		}
	}
	n := 0
	for len(evs) > 0 {
		batch := evs[:min(len(evs), 500)]
		evs = evs[len(batch):]
		keys := make([]string, len(batch))
		for i, ev := range batch {
			keys[i] = ev.Job.Key()
		}
		known, err := r.store.GetMany(ctx, keys)
		if err != nil {
			return n, err
		}
		for i, ev := range batch {
			if known[i] != nil {
				continue
			}
			rest, web := r.endpoint(ctx, ev.Job)
			ev.RestEndpoint = rest
			if ev.WebUIURL == "" {
				ev.WebUIURL = web
			}
			res, err := r.store.RegisterRecovered(ctx, ev, time.Now().UTC())
			if err != nil {
				return n, err
			}
			if res.Outcome == jobstore.Created {
				n++
				r.log.Info("job recovered from Kubernetes", "job", ev.Job.Key(), "request_id", ev.RequestID)
			}
		}
	}
	return n, nil
}

// endpoint resolves a recovered job's REST endpoint from its Service;
// empty when it cannot (the job is then tracked through Kubernetes only
// until a deployed event brings the endpoint).
func (r *recovery) endpoint(ctx context.Context, job messages.JobRef) (string, string) {
	cl, err := r.clusters.For(job)
	if err != nil {
		return "", ""
	}
	exposed := messages.RestClusterIP
	svc, err := cl.Kube.CoreV1().Services(job.Namespace).Get(ctx, kubeclusters.RestServiceName(job.ClusterID), metav1.GetOptions{})
	if err != nil {
		return "", ""
	}
	if svc.Spec.Type != "" {
		exposed = messages.RestExposedType(svc.Spec.Type)
	}
	ep, err := kubeclusters.RestEndpoint(ctx, cl, job, exposed)
	if err != nil {
		return "", ""
	}
	return ep, ep + "/"
}

// deployedFrom rebuilds the deployed event of a JobManager Deployment from
// its annotations; nil when they are incomplete.
func deployedFrom(d *appsv1.Deployment) *messages.Deployed {
	a := d.Annotations
	mode := messages.Mode(a[annotationMode])
	if a[annotationRequest] == "" || (mode != messages.ModeApplication && mode != messages.ModeSessionCluster) {
		return nil
	}
	ev := &messages.Deployed{
		RequestID: a[annotationRequest],
		Job:       messages.JobRef{KubeCluster: a[annotationKubeCluster], Namespace: d.Namespace, ClusterID: d.Name},
		Mode:      mode, FlinkJobID: a[annotationFlinkJob], Time: d.CreationTimestamp.UTC(),
		WebUIURL: a[annotationWebUIURL],
	}
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == "flink-main-container" {
			ev.Image = c.Image
		}
	}
	return ev
}
