package submit

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/flinkferry/flinkferry/internal/admission"
	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/internal/flinkrest"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/internal/logging"
	"github.com/flinkferry/flinkferry/messages"
)

// Handler turns image built events into Kubernetes objects, or session
// jobs submitted over Flink's REST API, and deployed (or deploy failed)
// events.
type Handler struct {
	Clusters *kubeclusters.Set
	Topics   messages.Topics
	Config   SubmitConfig

	// Flink submits session jobs. Nil: a flinkrest client (one per
	// Kubernetes cluster reached through the API server's service proxy,
	// with its credentials).
	Flink SessionREST
	// Jars opens session jobs' jar artifacts. Nil: the registry settings
	// of Config (NewRegistryJars).
	Jars JarSource
	// SessionEndpoint resolves a session cluster's REST endpoint. Nil:
	// KubeSessionEndpoint.
	SessionEndpoint SessionEndpointFunc

	// Admitter admits requests again before deploying them. Nil: one made
	// from Clusters' policies.
	Admitter *admission.Admitter

	admitOnce    sync.Once
	admitErr     error
	defaultOnce  sync.Once
	defaultFlink *flinkrest.Client
	proxyClients sync.Map // cluster name -> *flinkrest.Client
	jarsOnce     sync.Once
	defaultJars  *RegistryJars
}

// Handle deploys one image built event: the Kubernetes objects of an
// application or session cluster, or a session job submitted to its
// session cluster (see deploySession). Permanent failures (refused by the
// allow-lists, by the API server with 4xx, a missing session cluster or
// jar artifact, Flink refusing the job) become deploy failed on the
// status topic; API server or Flink 5xx, timeouts and unreachable peers
// are returned to be retried.
func (h *Handler) Handle(ctx context.Context, ev *messages.ImageBuilt) ([]bus.Out, error) {
	dep, up, err := h.deploy(ctx, ev)
	if errors.Is(err, errRunOver) {
		logging.FromContext(ctx).Info("request not deployed again", "reason", err.Error())
		return nil, nil
	}
	if err == nil && up != nil {
		return []bus.Out{{Event: up, Topics: []string{h.Topics.Control}}}, nil
	}
	if err == nil {
		return []bus.Out{{Event: dep, Topics: []string{h.Topics.Deployed, h.Topics.Status}}}, nil
	}
	if !failure.IsPermanent(err) {
		return nil, err
	}
	logging.FromContext(ctx).Warn("deploy failed", "reason", failure.Reason(err), "error", err.Error())
	return h.deployFailed(ev, failure.Reason(err), err), nil
}

// GiveUp tells that ev will not be deployed after its transient errors
// (an API server refusing for longer than the retry budget) outlasted the
// retries: a deploy failed with reason retries_exhausted, as a permanent
// failure would, so no upgrade, restart or waiting client hangs on it.
func (h *Handler) GiveUp(ctx context.Context, ev *messages.ImageBuilt, err error) []bus.Out {
	logging.FromContext(ctx).Warn("deploy given up after retries", "error", logging.Truncate(err.Error(), bus.MaxErrorLogBytes))
	return h.deployFailed(ev, bus.ReasonRetriesExhausted, err)
}

// deployFailed is the deploy failed event of ev, on the status topic and
// on the control topic: the track worker ends an upgrade or restart whose
// new run this was (docs/upgrades.md).
func (h *Handler) deployFailed(ev *messages.ImageBuilt, reason string, err error) []bus.Out {
	return []bus.Out{{Event: &messages.DeployFailed{
		RequestID: ev.RequestID, Job: ev.Job, Mode: ev.Mode, Labels: ev.Labels,
		Reason: reason, Message: logging.Truncate(err.Error(), 8<<10), MovedFrom: ev.MovedFrom, Time: time.Now().UTC(),
	}, Topics: []string{h.Topics.Status, h.Topics.Control}}}
}

func (h *Handler) deploy(ctx context.Context, ev *messages.ImageBuilt) (*messages.Deployed, *messages.UpgradeRequested, error) {
	cl, err := h.Clusters.For(ev.Job)
	if err != nil {
		return nil, nil, err
	}
	adm, err := h.admitter()
	if err != nil {
		return nil, nil, err
	}
	// Admitted by the build worker already; again here (same code) since
	// anyone who can write the image built topic reaches this worker.
	if err := adm.Admit(&ev.Request); err != nil {
		return nil, nil, err
	}
	if ev.Mode == messages.ModeSession {
		dep, err := h.deploySession(ctx, cl, ev)
		return dep, nil, err
	}
	base, err := h.Config.flinkConf()
	if err != nil {
		return nil, nil, failure.Permanent(failure.ReasonPermanent, err)
	}
	if up, err := h.move(ctx, cl, ev); up != nil || err != nil {
		return nil, up, err
	}
	running, err := checkRequestConflict(ctx, cl.Kube, ev)
	if err != nil {
		return nil, nil, err
	}
	if running != ev.RequestID {
		if over, err := appliedBefore(ctx, cl.Kube, ev); over || err != nil {
			if err == nil {
				err = errRunOver
			}
			return nil, nil, err
		}
	}
	if running == "" && ev.UpgradeOf == "" {
		// Handed over already and the old cluster removed since: a
		// redelivery, handed over again (see upgrademark.go).
		of, err := upgradeInFlight(ctx, cl.Kube, ev)
		if err != nil {
			return nil, nil, err
		}
		running = of
	}
	if up, err := upgradeOf(ev, running); up != nil || err != nil {
		if up != nil {
			if err := markUpgrade(ctx, cl.Kube, ev, running); err != nil {
				return nil, nil, classify(err)
			}
		}
		return nil, up, err
	}
	conf := EffectiveConf(ev, ev.JarName, base)
	objs, err := BuildObjects(ev, conf)
	if err != nil {
		if failure.IsPermanent(err) {
			return nil, nil, err
		}
		return nil, nil, failure.Permanent(messages.DeployReasonKubernetesRefused, err)
	}
	var webUI string
	if cl.Ingress != nil {
		if webUI, err = objs.AddIngress(cl.Ingress, ev.Job, cl.Name); err != nil {
			return nil, nil, err
		}
	}
	if err := checkPodSecurity(adm.PodSecurity(ev.Job), objs); err != nil {
		return nil, nil, err
	}
	uids, err := Apply(ctx, cl.Kube, objs)
	if err != nil {
		return nil, nil, classify(err)
	}
	if err := markRun(ctx, cl.Kube, ev); err != nil {
		return nil, nil, err
	}
	if ev.UpgradeOf != "" {
		if err := markUpgradeDeployed(ctx, cl.Kube, ev, uids["Deployment/"+ev.Job.ClusterID]); err != nil {
			return nil, nil, classify(err)
		}
	}
	rest, err := kubeclusters.RestEndpoint(ctx, cl, ev.Job, messages.RestExposedType(conf["kubernetes.rest-service.exposed.type"]))
	if err != nil {
		return nil, nil, classify(err)
	}
	if webUI == "" {
		webUI = rest + "/"
	}
	return &messages.Deployed{
		RequestID: ev.RequestID, Job: ev.Job, Mode: ev.Mode,
		FlinkJobID: ev.Request.FlinkJobID(), Image: ev.Image,
		RestEndpoint: rest, WebUIURL: webUI, ObjectUIDs: uids, Labels: ev.Labels, Time: time.Now().UTC(),
		Request: &ev.Request, JarName: ev.JarName, JarSHA256: ev.JarSHA256,
	}, nil, nil
}

// classify makes API errors that retrying cannot fix permanent: 4xx other
// than conflicts and throttling. 5xx, timeouts and network errors stay
// transient.
func classify(err error) error {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		code := int(status.Status().Code)
		switch {
		case code == http.StatusConflict || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout:
			return err
		case code >= 400 && code < 500:
			return failure.Permanent(messages.DeployReasonKubernetesRefused, err)
		}
	}
	return err
}

// admitter returns Admitter, or the one of Clusters.
func (h *Handler) admitter() (*admission.Admitter, error) {
	h.admitOnce.Do(func() {
		if h.Admitter == nil {
			h.Admitter, h.admitErr = h.Clusters.Admitter()
		}
		if h.admitErr == nil {
			// The account a request naming none runs as (FLINK_CONF).
			base, err := h.Config.flinkConf()
			h.Admitter, h.admitErr = h.Admitter.WithFlinkConf(base).WithSavepointDirs(h.Config.SavepointDirs), err
		}
	})
	return h.Admitter, h.admitErr
}
