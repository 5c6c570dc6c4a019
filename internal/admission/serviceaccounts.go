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
// that the cluster does not allow: the typed field (default "default"),
// Flink's service-account options, and the pod templates'
// serviceAccountName/serviceAccount (Flink replaces them, but a template
// naming a forbidden account is refused rather than silently changed).
func checkServiceAccounts(c *refusal, p Policy, req *messages.SubmitRequested, opts options) {
	check := func(field, where, sa string) {
		if sa != "" && !p.allowsServiceAccount(sa) {
			c.add(field, messages.DeployReasonServiceAccountNotAllowed,
				"%sservice account %q is not allowed on Kubernetes cluster %s", where, sa, p.Cluster)
		}
	}
	if req.Mode != messages.ModeSession {
		sa := req.Kubernetes.ServiceAccount
		field := "kubernetes.service_account"
		if sa == "" {
			sa = "default"
		}
		if o, ok := opts.get("kubernetes.service-account"); ok {
			sa, field = o.value, o.field
		}
		check(field, "", sa)
	}
	for _, key := range serviceAccountOptions[1:] {
		if o, ok := opts.get(key); ok {
			check(o.field, "", o.value)
		}
	}
	if req.Mode == messages.ModeSession {
		if o, ok := opts.get("kubernetes.service-account"); ok {
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
