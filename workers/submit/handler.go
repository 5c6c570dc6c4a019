package submit

import (
	"context"
	"errors"
	"net/http"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/logging"
	"github.com/flinkferry/flinkferry/messages"
)

// Reasons of deploy failures (messages.DeployFailed.Reason).
const (
	ReasonKubernetesRefused  = messages.DeployReasonKubernetesRefused
	ReasonNamespaceForbidden = "namespace_not_allowed"
	ReasonServiceAccount     = "service_account_not_allowed"
	ReasonNotImplemented     = "not_implemented"
)

// Handler turns image built events into Kubernetes objects and deployed
// (or deploy failed) events.
type Handler struct {
	Clusters *Clusters
	Topics   messages.Topics
	Config   SubmitConfig
}

// Handle deploys one image built event. Permanent failures (refused by the
// allow-lists, or by the API server with 4xx) become deploy failed on the
// status topic; API server 5xx and timeouts are returned to be retried.
func (h *Handler) Handle(ctx context.Context, ev *messages.ImageBuilt) ([]bus.Out, error) {
	dep, err := h.deploy(ctx, ev)
	if err == nil {
		return []bus.Out{{Event: dep, Topics: []string{h.Topics.Deployed, h.Topics.Status}}}, nil
	}
	if !bus.IsPermanent(err) {
		return nil, err
	}
	logging.FromContext(ctx).Warn("deploy failed", "reason", bus.ReasonOf(err), "error", err.Error())
	return []bus.Out{{Event: &messages.DeployFailed{
		RequestID: ev.RequestID, Job: ev.Job, Mode: ev.Mode, Labels: ev.Labels,
		Reason: bus.ReasonOf(err), Message: err.Error(), Time: time.Now().UTC(),
	}, Topics: []string{h.Topics.Status}}}, nil
}

func (h *Handler) deploy(ctx context.Context, ev *messages.ImageBuilt) (*messages.Deployed, error) {
	cl, err := h.Clusters.For(ev.Job)
	if err != nil {
		return nil, err
	}
	if !allowed(cl.AllowedNamespaces, ev.Job.Namespace) {
		return nil, bus.Permanentf(ReasonNamespaceForbidden, "namespace %q is not allowed on Kubernetes cluster %s", ev.Job.Namespace, cl.Name)
	}
	sa := ev.Request.Kubernetes.ServiceAccount
	if sa == "" {
		sa = "default"
	}
	if !allowed(cl.AllowedServiceAccounts, sa) {
		return nil, bus.Permanentf(ReasonServiceAccount, "service account %q is not allowed on Kubernetes cluster %s", sa, cl.Name)
	}
	if ev.Mode == messages.ModeSession {
		return nil, bus.Permanentf(ReasonNotImplemented, "session jobs are not deployed by this version of the submit worker yet")
	}
	base, err := h.Config.flinkConf()
	if err != nil {
		return nil, bus.Permanent(bus.ReasonPermanent, err)
	}
	conf := EffectiveConf(ev, ev.JarName, base)
	objs, err := BuildObjects(ev, conf)
	if err != nil {
		return nil, bus.Permanent(ReasonKubernetesRefused, err)
	}
	uids, err := Apply(ctx, cl.Kube, objs)
	if err != nil {
		return nil, classify(err)
	}
	rest, err := RestEndpoint(ctx, cl, ev.Job, messages.RestExposedType(conf["kubernetes.rest-service.exposed.type"]))
	if err != nil {
		return nil, classify(err)
	}
	return &messages.Deployed{
		RequestID: ev.RequestID, Job: ev.Job, Mode: ev.Mode,
		FlinkJobID: ev.Request.FlinkJobID(), Image: ev.Image,
		RestEndpoint: rest, WebUIURL: rest + "/", ObjectUIDs: uids, Labels: ev.Labels, Time: time.Now().UTC(),
	}, nil
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
			return bus.Permanent(ReasonKubernetesRefused, err)
		}
	}
	return err
}
