package admission

import (
	"github.com/flinkferry/flinkferry/messages"
)

// Flink's options that name the service account of Flink's pods. Every one
// is checked against the same allow-list as kubernetes.service_account: a
// JobManager and its TaskManagers may legitimately run as different
// accounts, and each must be allowed.
var serviceAccountOptions = []string{
	"kubernetes.service-account",
	"kubernetes.jobmanager.service-account",
	"kubernetes.taskmanager.service-account",
}

// checkServiceAccounts refuses every service account the request names
// that the cluster does not allow: the typed field, Flink's
// service-account options, and the pod templates'
// serviceAccountName/serviceAccount (Flink replaces them, but a template
// naming a forbidden account is refused rather than silently changed).
// An account the request leaves to the worker is checked as the one its
// pods will run as: the worker's Flink configuration (base), else
// "default".
func checkServiceAccounts(c *refusal, p Policy, req *messages.SubmitRequested, opts options, base map[string]string) {
	check := func(field, where, sa string) {
		if sa != "" && !p.allowsServiceAccount(sa) {
			c.add(field, messages.DeployReasonServiceAccountNotAllowed,
				"%sservice account %q is not allowed on Kubernetes cluster %s", where, sa, p.Cluster)
		}
	}
	if req.Mode != messages.ModeSession {
		sa, field, where := req.Kubernetes.ServiceAccount, "kubernetes.service_account", ""
		if o, ok := opts.get(serviceAccountOptions[0]); ok {
			sa, field = o.value, o.field
		}
		if sa == "" {
			sa = "default"
			if b := base[serviceAccountOptions[0]]; b != "" {
				sa, where = b, "the worker's "+serviceAccountOptions[0]+": "
			}
		}
		check(field, where, sa)
	}
	for _, key := range serviceAccountOptions[1:] {
		if o, ok := opts.get(key); ok {
			check(o.field, "", o.value)
		} else if b := base[key]; b != "" && req.Mode != messages.ModeSession {
			check("kubernetes.service_account", "the worker's "+key+": ", b)
		}
	}
	if req.Mode == messages.ModeSession {
		if o, ok := opts.get(serviceAccountOptions[0]); ok {
			check(o.field, "", o.value)
		}
	}
	for _, t := range templates(req.Kubernetes) {
		pod, err := parsePod(t.text)
		if err != nil {
			continue // reported by effectivePods
		}
		check(t.field, "spec.serviceAccountName: ", pod.Spec.ServiceAccountName)
		if pod.Spec.DeprecatedServiceAccount != pod.Spec.ServiceAccountName {
			check(t.field, "spec.serviceAccount: ", pod.Spec.DeprecatedServiceAccount)
		}
	}
}
