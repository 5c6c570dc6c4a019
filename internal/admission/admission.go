package admission

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/messages"
)

// Policy is what one Kubernetes cluster allows.
type Policy struct {
	// Cluster is the cluster's name, as requests put it in job.kube_cluster.
	Cluster string
	// Default marks the cluster used when a request names none.
	Default bool
	// AllowedNamespaces and AllowedServiceAccounts are allow-lists ("*"
	// allows all). An empty AllowedServiceAccounts allows "default" only.
	AllowedNamespaces      []string
	AllowedServiceAccounts []string
	// PodSecurity is the level the cluster's Flink pods must meet; empty
	// means DefaultLevel.
	PodSecurity Level
	// NamespacePodSecurity overrides PodSecurity per namespace.
	NamespacePodSecurity map[string]Level
}

// Validate reports a level that is not privileged, baseline or
// restricted (allow-lists are checked by New).
func (p Policy) Validate() error {
	var errs []error
	for _, l := range append([]Level{p.PodSecurity}, mapValues(p.NamespacePodSecurity)...) {
		if _, err := ParseLevel(string(l)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// level returns the pod security level of namespace ns.
func (p Policy) level(ns string) Level {
	if l, ok := p.NamespacePodSecurity[ns]; ok && l != "" {
		return l
	}
	if p.PodSecurity == "" {
		return DefaultLevel
	}
	return p.PodSecurity
}

func (p Policy) allowsServiceAccount(sa string) bool {
	if len(p.AllowedServiceAccounts) == 0 {
		return sa == "default"
	}
	return allowed(p.AllowedServiceAccounts, sa)
}

// allowed reports whether v is in list (or list holds *).
func allowed(list []string, v string) bool {
	return slices.Contains(list, "*") || slices.Contains(list, v)
}

// Admitter admits submit requests against the policies of the configured
// Kubernetes clusters. It is safe for concurrent use.
type Admitter struct {
	byName map[string]Policy
	def    *Policy
	// base is the worker's Flink configuration (WithFlinkConf).
	base map[string]string
	// savepointDirs allow-list savepoint locations (WithSavepointDirs).
	savepointDirs []string
}

// WithFlinkConf returns a copy of a that admits requests as running under
// conf, the submit worker's Flink configuration (FLINKFERRY_SUBMIT_FLINK_CONF):
// a request that names no service account runs as conf's
// kubernetes.service-account (and kubernetes.jobmanager/taskmanager
// ones), so that is the account checked, not "default".
func (a *Admitter) WithFlinkConf(conf map[string]string) *Admitter {
	b := *a
	b.base = conf
	return &b
}

// New returns an Admitter for the given clusters; it reports every
// configuration problem at once.
func New(policies ...Policy) (*Admitter, error) {
	a := &Admitter{byName: map[string]Policy{}}
	var errs []error
	for i, p := range policies {
		if _, dup := a.byName[p.Cluster]; dup {
			errs = append(errs, fmt.Errorf("admission: cluster %q is configured twice", p.Cluster))
		}
		if len(p.AllowedNamespaces) == 0 {
			errs = append(errs, fmt.Errorf("admission: cluster %q allows no namespace", p.Cluster))
		}
		if err := p.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("admission: cluster %q: %w", p.Cluster, err))
		}
		a.byName[p.Cluster] = p
		if p.Default || len(policies) == 1 {
			if a.def != nil && a.def.Cluster != p.Cluster {
				errs = append(errs, errors.New("admission: more than one cluster is the default"))
			}
			a.def = &policies[i]
		}
	}
	if len(policies) == 0 {
		errs = append(errs, errors.New("admission: no Kubernetes cluster configured"))
	}
	return a, errors.Join(errs...)
}

func mapValues(m map[string]Level) []Level {
	out := make([]Level, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// Reasons of a refusal, in the order Admit ranks them when a request has
// problems of several kinds (the reason of the first kind found is the
// refusal's reason; every problem is listed in its message).
var reasonRank = []string{
	messages.DeployReasonUnknownKubeCluster,
	messages.DeployReasonNamespaceNotAllowed,
	messages.DeployReasonServiceAccountNotAllowed,
	messages.DeployReasonSavepointLocationNotAllowed,
	messages.DeployReasonInvalidPodTemplate,
	ReasonPodSecurity,
}

// ReasonPodSecurity is the reason of a request whose pods would violate
// the Pod Security Standards level of their namespace.
const ReasonPodSecurity = "pod_security_violation"

// MaxProblems bounds the problems a Refusal lists; the rest are counted.
const MaxProblems = 32

// Problem is one reason a request is refused.
type Problem struct {
	// Field is the request's field path (job.namespace,
	// flink.dynamic_options[3], kubernetes.pod_template, ...).
	Field string
	// Reason is the machine-readable reason of this problem.
	Reason string
	// Message says what is wrong, in Kubernetes' words where it has some.
	Message string
}

// Refusal is the error of a refused request: at most MaxProblems problems
// and the number left out.
type Refusal struct {
	Problems []Problem
	// More counts the problems not listed.
	More int
}

// Error lists the problems, one "field: message" per line.
func (r *Refusal) Error() string {
	var b strings.Builder
	for i, p := range r.Problems {
		if i > 0 {
			b.WriteString("\n")
		}
		if p.Field != "" {
			b.WriteString(p.Field + ": ")
		}
		b.WriteString(p.Message)
	}
	if r.More > 0 {
		fmt.Fprintf(&b, "\n... and %d more", r.More)
	}
	return b.String()
}

// Reason returns the refusal's machine-readable reason: the first in rank
// among its problems.
func (r *Refusal) Reason() string {
	for _, want := range reasonRank {
		for _, p := range r.Problems {
			if p.Reason == want {
				return want
			}
		}
	}
	if len(r.Problems) > 0 {
		return r.Problems[0].Reason
	}
	return failure.ReasonPermanent
}

// refusal collects problems, bounded.
type refusal struct{ r Refusal }

func (c *refusal) add(field, reason, format string, args ...any) {
	if len(c.r.Problems) >= MaxProblems {
		c.r.More++
		return
	}
	c.r.Problems = append(c.r.Problems, Problem{Field: field, Reason: reason, Message: fmt.Sprintf(format, args...)})
}

func (c *refusal) err() error {
	if len(c.r.Problems) == 0 && c.r.More == 0 {
		return nil
	}
	r := c.r
	return failure.Permanent(r.Reason(), &r)
}

// Admit reports whether req may run: nil, or a permanent failure (see
// package failure) wrapping a *Refusal whose reason is the first in rank of
// unknown_kube_cluster, namespace_not_allowed, service_account_not_allowed,
// invalid_pod_template and pod_security_violation. req must have passed
// messages validation.
func (a *Admitter) Admit(req *messages.SubmitRequested) error {
	var c refusal
	p, ok := a.policy(req.Job)
	if !ok {
		if req.Job.KubeCluster == "" {
			c.add("job.kube_cluster", messages.DeployReasonUnknownKubeCluster, "is empty and no Kubernetes cluster is the default")
		} else {
			c.add("job.kube_cluster", messages.DeployReasonUnknownKubeCluster, "Kubernetes cluster %q is not configured", req.Job.KubeCluster)
		}
		return c.err()
	}
	if !allowed(p.AllowedNamespaces, req.Job.Namespace) {
		c.add("job.namespace", messages.DeployReasonNamespaceNotAllowed, "namespace %q is not allowed on Kubernetes cluster %s", req.Job.Namespace, p.Cluster)
	}
	a.checkMovedFrom(&c, req)
	opts := parseOptions(req.Flink.DynamicOptions)
	checkServiceAccounts(&c, p, req, opts, a.base)
	a.checkSavepointLocations(&c, req, opts)
	pods := effectivePods(&c, req, opts)
	checkPodSecurity(&c, p.level(req.Job.Namespace), pods)
	return c.err()
}

// checkMovedFrom admits the place a move takes the job from
// (upgrade.from) as the job's own: a move stops and removes the job there,
// so a cluster or namespace this installation may not touch cannot be
// reached through it.
func (a *Admitter) checkMovedFrom(c *refusal, req *messages.SubmitRequested) {
	from, moves := req.MovedFrom()
	if !moves {
		return
	}
	p, ok := a.policy(from)
	switch {
	case !ok && from.KubeCluster == "":
		c.add("upgrade.from.kube_cluster", messages.DeployReasonUnknownKubeCluster, "is empty and no Kubernetes cluster is the default")
	case !ok:
		c.add("upgrade.from.kube_cluster", messages.DeployReasonUnknownKubeCluster, "Kubernetes cluster %q is not configured", from.KubeCluster)
	case !allowed(p.AllowedNamespaces, from.Namespace):
		c.add("upgrade.from.namespace", messages.DeployReasonNamespaceNotAllowed, "namespace %q is not allowed on Kubernetes cluster %s", from.Namespace, p.Cluster)
	}
}

// PodSecurity returns the Pod Security Standards level of the job's
// namespace (DefaultLevel for an unknown cluster).
func (a *Admitter) PodSecurity(job messages.JobRef) Level {
	p, ok := a.policy(job)
	if !ok {
		return DefaultLevel
	}
	return p.level(job.Namespace)
}

// policy returns the policy of the job's cluster.
func (a *Admitter) policy(job messages.JobRef) (Policy, bool) {
	if job.KubeCluster == "" {
		if a.def == nil {
			return Policy{}, false
		}
		return *a.def, true
	}
	p, ok := a.byName[job.KubeCluster]
	return p, ok
}
