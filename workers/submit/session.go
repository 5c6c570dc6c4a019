package submit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/internal/flinkrest"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/internal/logging"
	"github.com/flinkferry/flinkferry/messages"
)

// maxFlinkMessage bounds the Flink error text put in a deploy failed
// message (the message may hold 32 KiB).
const maxFlinkMessage = 16 << 10

// SessionREST is what submitting a session job needs from Flink's REST
// API (implemented by *flinkrest.Client).
type SessionREST interface {
	Job(ctx context.Context, base, jobID string) (*flinkrest.JobDetails, error)
	UploadJar(ctx context.Context, base, name string, r io.Reader) (string, error)
	RunJar(ctx context.Context, base, jarID string, req flinkrest.RunRequest) (string, error)
	DeleteJar(ctx context.Context, base, jarID string) error
}

// SessionEndpointFunc resolves the REST base URL of session cluster
// job.ClusterID on cl.
type SessionEndpointFunc func(ctx context.Context, cl *kubeclusters.Cluster, job messages.JobRef) (string, error)

// KubeSessionEndpoint resolves a session cluster's REST endpoint from its
// <cluster-id>-rest Service: the Service's type is the exposed type, then
// RestEndpoint applies. A missing Service is permanent
// (session_cluster_not_found); other API errors are classified like
// deployments'.
func KubeSessionEndpoint(ctx context.Context, cl *kubeclusters.Cluster, job messages.JobRef) (string, error) {
	svcName := kubeclusters.RestServiceName(job.ClusterID)
	svc, err := cl.Kube.CoreV1().Services(job.Namespace).Get(ctx, svcName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", failure.Permanentf(messages.DeployReasonSessionClusterNotFound, "session cluster %s/%s does not exist on Kubernetes cluster %s (no Service %s)",
			job.Namespace, job.ClusterID, cl.Name, svcName)
	}
	if err != nil {
		return "", classify(fmt.Errorf("reading Service %s/%s: %w", job.Namespace, svcName, err))
	}
	exposed := messages.RestClusterIP
	switch svc.Spec.Type {
	case corev1.ServiceTypeNodePort:
		exposed = messages.RestNodePort
	case corev1.ServiceTypeLoadBalancer:
		exposed = messages.RestLoadBalancer
	case corev1.ServiceTypeClusterIP:
		if svc.Spec.ClusterIP == corev1.ClusterIPNone {
			exposed = messages.RestHeadlessClusterIP
		}
	}
	ep, err := kubeclusters.RestEndpoint(ctx, cl, job, exposed)
	if err != nil {
		return "", classify(err)
	}
	return ep, nil
}

// deploySession submits a session job to its session cluster over REST,
// idempotently: a job that already has the request's Flink job id (an
// earlier delivery, or a concurrent one that won) is not submitted again.
func (h *Handler) deploySession(ctx context.Context, cl *kubeclusters.Cluster, ev *messages.ImageBuilt) (*messages.Deployed, error) {
	log := logging.FromContext(ctx)
	session := messages.JobRef{KubeCluster: ev.Job.KubeCluster, Namespace: ev.Job.Namespace, ClusterID: ev.Request.SessionClusterID}
	resolve := h.SessionEndpoint
	if resolve == nil {
		resolve = KubeSessionEndpoint
	}
	base, err := resolve(ctx, cl, session)
	if err != nil {
		return nil, err
	}
	fl := h.flinkFor(cl)
	jobID := ev.Request.FlinkJobID()
	webUI := base + "/"
	if cl.Ingress != nil {
		// The session cluster's own Ingress (same template).
		if r, err := cl.Ingress.Render(session, cl.Name); err == nil {
			webUI = r.URL
		}
	}
	deployed := &messages.Deployed{
		RequestID: ev.RequestID, Job: ev.Job, Mode: ev.Mode, FlinkJobID: jobID, SessionClusterID: session.ClusterID,
		RestEndpoint: base, WebUIURL: webUI, Labels: ev.Labels,
		Request: &ev.Request, JarName: ev.JarName, JarArtifact: ev.JarArtifact, JarSHA256: ev.JarSHA256,
	}

	exists, err := jobExists(ctx, fl, base, jobID)
	if err != nil {
		return nil, err
	}
	if exists {
		log.Info("session job already submitted", "session_cluster", session.ClusterID, "flink_job_id", jobID)
		deployed.Time = time.Now().UTC()
		return deployed, nil
	}

	jar, err := h.jarSource().OpenJar(ctx, ev.JarArtifact)
	if err != nil {
		return nil, err
	}
	jarName := ev.JarName
	if jarName == "" {
		jarName = jar.Name
	}
	jarID, err := fl.UploadJar(ctx, base, jarName, flinkrest.Sized(jar, jar.Size))
	jar.Close()
	if err != nil {
		return nil, classifyFlink(err, "uploading the jar to session cluster "+session.ClusterID)
	}
	defer func() {
		// Best effort: the job holds its own copy of the jar once run.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := fl.DeleteJar(dctx, base, jarID); err != nil && !flinkrest.IsNotFound(err) {
			log.Warn("could not delete the uploaded jar", "session_cluster", session.ClusterID, "jar_id", jarID, "error", err.Error())
		}
	}()

	got, err := fl.RunJar(ctx, base, jarID, runRequest(ev, jobID))
	if err != nil {
		if flinkrest.IsBadRequest(err) {
			// A concurrent delivery of the same event may have run it
			// first: Flink then refuses the duplicate job id.
			if exists, lookErr := jobExists(ctx, fl, base, jobID); lookErr == nil && exists {
				log.Info("session job submitted by a concurrent delivery", "session_cluster", session.ClusterID, "flink_job_id", jobID)
				deployed.Time = time.Now().UTC()
				return deployed, nil
			}
		}
		return nil, classifyFlink(err, "running the job on session cluster "+session.ClusterID)
	}
	if got != jobID {
		log.Warn("Flink answered another job id than requested", "flink_job_id", jobID, "answered", got)
	}
	log.Info("session job submitted", "session_cluster", session.ClusterID, "flink_job_id", jobID, "jar_bytes", jar.Size)
	deployed.Time = time.Now().UTC()
	return deployed, nil
}

// runRequest is the jar run of a session job: the request's entry class,
// arguments, parallelism, savepoint and dynamic options (as the job's
// flinkConfiguration, where pipeline.name defaults to job.cluster_id).
func runRequest(ev *messages.ImageBuilt, jobID string) flinkrest.RunRequest {
	r := ev.Request
	conf := r.Flink.DynamicOptionsMap()
	if conf == nil {
		conf = map[string]string{}
	}
	if _, ok := conf["pipeline.name"]; !ok {
		conf["pipeline.name"] = ev.Job.ClusterID
	}
	run := flinkrest.RunRequest{JobID: jobID, Parallelism: r.Flink.Parallelism, FlinkConfiguration: conf}
	if p := r.Program; p != nil {
		run.EntryClass, run.ProgramArgsList = p.MainClass, p.Args
		if sp := p.Savepoint; sp != nil {
			run.SavepointPath, run.AllowNonRestoredState, run.RestoreMode = sp.Path, sp.AllowNonRestoredState, string(sp.RestoreMode)
		}
	}
	return run
}

// jobExists reports whether the session cluster knows job jobID (running
// or ended).
func jobExists(ctx context.Context, fl SessionREST, base, jobID string) (bool, error) {
	_, err := fl.Job(ctx, base, jobID)
	switch {
	case err == nil:
		return true, nil
	case flinkrest.IsNotFound(err):
		return false, nil
	}
	return false, classifyFlink(err, "looking up job "+jobID)
}

// classifyFlink: an unreachable session cluster, 5xx and timeouts are
// transient (retried); Flink refusing the request (4xx) is permanent
// (job_submission_refused) with Flink's reasons in the message.
func classifyFlink(err error, what string) error {
	var fe *flinkrest.Error
	switch {
	case flinkrest.IsUnavailable(err):
		return fmt.Errorf("%s: %w", what, err)
	case errors.As(err, &fe) && fe.StatusCode >= 400 && fe.StatusCode < 500:
		who := "Flink"
		if fe.NotFlink {
			// RBAC of the API server's service proxy (services/proxy),
			// or an ingress in front of the session cluster.
			who = "the proxy in front of the session cluster"
		}
		msg := fe.Message(maxFlinkMessage)
		if msg == "" {
			msg = http.StatusText(fe.StatusCode)
		}
		return failure.Permanentf(messages.DeployReasonJobSubmissionRefused, "%s: %s refused it (HTTP %d): %s", what, who, fe.StatusCode, msg)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// flinkFor returns the REST client for session clusters on cl: Flink when
// set, else a shared default client, or, for clusters reached through the
// API server's service proxy, a client that carries the API server's
// credentials.
func (h *Handler) flinkFor(cl *kubeclusters.Cluster) SessionREST {
	if h.Flink != nil {
		return h.Flink
	}
	if cl.RestAccess == kubeclusters.RestAccessProxy && cl.Kube != nil {
		if rc, ok := cl.Kube.CoreV1().RESTClient().(*rest.RESTClient); ok && rc != nil && rc.Client != nil {
			if c, ok := h.proxyClients.Load(cl.Name); ok {
				return c.(*flinkrest.Client)
			}
			c, _ := h.proxyClients.LoadOrStore(cl.Name, flinkrest.New(flinkrest.Options{HTTPClient: rc.Client, UserAgent: "flinkferry-submit"}))
			return c.(*flinkrest.Client)
		}
	}
	h.defaultOnce.Do(func() { h.defaultFlink = flinkrest.New(flinkrest.Options{UserAgent: "flinkferry-submit"}) })
	return h.defaultFlink
}

// jarSource returns Jars, or registry access from Config made once.
func (h *Handler) jarSource() JarSource {
	if h.Jars != nil {
		return h.Jars
	}
	h.jarsOnce.Do(func() { h.defaultJars = NewRegistryJars(h.Config) })
	return h.defaultJars
}
