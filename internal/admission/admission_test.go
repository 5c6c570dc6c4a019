package admission_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/flinkferry/flinkferry/internal/admission"
	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/messages"
)

// request returns a valid application request on cluster eu-west-1,
// namespace flink-jobs, changed by edit.
func request(edit func(r *messages.SubmitRequested)) *messages.SubmitRequested {
	r := &messages.SubmitRequested{
		RequestID: "r1",
		Job:       messages.JobRef{KubeCluster: "eu-west-1", Namespace: "flink-jobs", ClusterID: "orders"},
		Mode:      messages.ModeApplication,
		Flink:     messages.FlinkOptions{Version: "1.20"},
		Program:   &messages.Program{Jar: messages.Jar{URL: "https://artifacts.example.com/a.jar"}},
	}
	if edit != nil {
		edit(r)
	}
	return r
}

func admitter(t *testing.T) *admission.Admitter {
	t.Helper()
	a, err := admission.New(
		admission.Policy{
			Cluster: "eu-west-1", Default: true,
			AllowedNamespaces: []string{"flink-jobs", "secure"}, AllowedServiceAccounts: []string{"default", "flink"},
			NamespacePodSecurity: map[string]admission.Level{"secure": admission.Restricted},
		},
		admission.Policy{Cluster: "lab", AllowedNamespaces: []string{"*"}, AllowedServiceAccounts: []string{"*"}, PodSecurity: admission.Privileged},
	)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

const restrictedTemplate = `spec:
  securityContext:
    runAsNonRoot: true
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: flink-main-container
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
`

func TestAdmit(t *testing.T) {
	a := admitter(t)
	for _, tc := range []struct {
		name   string
		edit   func(r *messages.SubmitRequested)
		reason string
		// want are substrings of the refusal's text, in order of the
		// problems ("field: message").
		want []string
	}{
		{name: "plain request", edit: nil},
		{name: "default cluster", edit: func(r *messages.SubmitRequested) { r.Job.KubeCluster = "" }},
		{name: "unknown cluster", edit: func(r *messages.SubmitRequested) { r.Job.KubeCluster = "mars" },
			reason: "unknown_kube_cluster", want: []string{`job.kube_cluster: Kubernetes cluster "mars" is not configured`}},
		{name: "namespace", edit: func(r *messages.SubmitRequested) { r.Job.Namespace = "kube-system" },
			reason: "namespace_not_allowed", want: []string{`job.namespace: namespace "kube-system" is not allowed on Kubernetes cluster eu-west-1`}},
		{name: "move from an allowed place", edit: func(r *messages.SubmitRequested) {
			r.Upgrade = &messages.UpgradeOptions{From: &messages.UpgradeFrom{KubeCluster: "lab", Namespace: "anything"}}
		}},
		{name: "move from a namespace not allowed", edit: func(r *messages.SubmitRequested) {
			r.Upgrade = &messages.UpgradeOptions{From: &messages.UpgradeFrom{Namespace: "kube-system"}}
		}, reason: "namespace_not_allowed", want: []string{`upgrade.from.namespace: namespace "kube-system" is not allowed on Kubernetes cluster eu-west-1`}},
		{name: "move from a cluster not configured", edit: func(r *messages.SubmitRequested) {
			r.Upgrade = &messages.UpgradeOptions{From: &messages.UpgradeFrom{KubeCluster: "mars"}}
		}, reason: "unknown_kube_cluster", want: []string{`upgrade.from.kube_cluster: Kubernetes cluster "mars" is not configured`}},
		{name: "service account field", edit: func(r *messages.SubmitRequested) { r.Kubernetes.ServiceAccount = "cluster-admin" },
			reason: "service_account_not_allowed", want: []string{`kubernetes.service_account: service account "cluster-admin" is not allowed`}},
		{name: "allowed service account", edit: func(r *messages.SubmitRequested) { r.Kubernetes.ServiceAccount = "flink" }},
		{name: "service account option", edit: func(r *messages.SubmitRequested) {
			r.Flink.DynamicOptions = []string{"-Dstate.backend.type=rocksdb", "-Dkubernetes.service-account=cluster-admin"}
		}, reason: "service_account_not_allowed", want: []string{`flink.dynamic_options[1]: service account "cluster-admin"`}},
		{name: "jobmanager and taskmanager service account options", edit: func(r *messages.SubmitRequested) {
			r.Flink.DynamicOptions = []string{"-Dkubernetes.jobmanager.service-account=cluster-admin", "-Dkubernetes.taskmanager.service-account=root"}
		}, reason: "service_account_not_allowed", want: []string{`flink.dynamic_options[0]: service account "cluster-admin"`, `flink.dynamic_options[1]: service account "root"`}},
		{name: "service account option in session mode", edit: func(r *messages.SubmitRequested) {
			r.Mode, r.SessionClusterID = messages.ModeSession, "shared"
			r.Flink.DynamicOptions = []string{"-Dkubernetes.jobmanager.service-account=cluster-admin"}
		}, reason: "service_account_not_allowed", want: []string{`flink.dynamic_options[0]`}},
		{name: "template service account", edit: func(r *messages.SubmitRequested) {
			r.Kubernetes.PodTemplate = "spec:\n  serviceAccountName: cluster-admin\n"
		}, reason: "service_account_not_allowed", want: []string{`kubernetes.pod_template: spec.serviceAccountName: service account "cluster-admin"`}},
		{name: "template main container", edit: func(r *messages.SubmitRequested) {
			r.Kubernetes.TaskManagerPodTemplate = "spec:\n  containers:\n  - name: main\n"
		}, reason: "invalid_pod_template", want: []string{`kubernetes.taskmanager_pod_template: the main container must be named flink-main-container (found main)`}},
		{name: "template not a pod", edit: func(r *messages.SubmitRequested) {
			r.Kubernetes.PodTemplate = "spec:\n  containers: 3\n"
		}, reason: "invalid_pod_template", want: []string{`kubernetes.pod_template: is not a valid Pod`}},
		{name: "host network option", edit: func(r *messages.SubmitRequested) {
			r.Flink.DynamicOptions = []string{"-Dkubernetes.hostnetwork.enabled=true"}
		}, reason: "pod_security_violation", want: []string{`flink.dynamic_options: JobManager pod violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true)`}},
		{name: "privileged template", edit: func(r *messages.SubmitRequested) {
			r.Kubernetes.PodTemplate = `spec:
  hostNetwork: true
  hostPID: true
  containers:
  - name: flink-main-container
    securityContext: {privileged: true}
  volumes:
  - name: root
    hostPath: {path: /}
`
		}, reason: "pod_security_violation", want: []string{
			`kubernetes.pod_template: JobManager pod violates PodSecurity "baseline:latest": `,
			`host namespaces (hostNetwork=true, hostPID=true)`, `hostPath volumes (volume "root")`,
			`privileged (container "flink-main-container" must not set securityContext.privileged=true)`}},
		{name: "privileged cluster allows it", edit: func(r *messages.SubmitRequested) {
			r.Job.KubeCluster, r.Job.Namespace = "lab", "anything"
			r.Kubernetes.PodTemplate = "spec:\n  hostNetwork: true\n"
			r.Flink.DynamicOptions = []string{"-Dkubernetes.service-account=cluster-admin"}
		}},
		{name: "apparmor annotation option", edit: func(r *messages.SubmitRequested) {
			r.Flink.DynamicOptions = []string{"-Dkubernetes.taskmanager.annotations=container.apparmor.security.beta.kubernetes.io/flink-main-container:unconfined"}
		}, reason: "pod_security_violation", want: []string{`flink.dynamic_options: TaskManager pod violates PodSecurity "baseline:latest": forbidden AppArmor profile`}},
		{name: "restricted namespace refuses Flink's defaults", edit: func(r *messages.SubmitRequested) { r.Job.Namespace = "secure" },
			reason: "pod_security_violation", want: []string{`JobManager pod violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false`}},
		{name: "restricted namespace with a compliant template", edit: func(r *messages.SubmitRequested) {
			r.Job.Namespace = "secure"
			r.Kubernetes.PodTemplate = restrictedTemplate
		}},
		{name: "session job has no pods of its own", edit: func(r *messages.SubmitRequested) {
			r.Mode, r.SessionClusterID, r.Job.Namespace = messages.ModeSession, "shared", "secure"
		}},
		{name: "ranked reasons", edit: func(r *messages.SubmitRequested) {
			r.Kubernetes.PodTemplate = "spec:\n  hostNetwork: true\n"
			r.Kubernetes.ServiceAccount = "root"
			r.Job.Namespace = "default"
		}, reason: "namespace_not_allowed", want: []string{"job.namespace", "kubernetes.service_account", "kubernetes.pod_template: JobManager pod"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := a.Admit(request(tc.edit))
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("Admit() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Admit() = nil, want %s", tc.reason)
			}
			if !failure.IsPermanent(err) {
				t.Errorf("Admit() error is not permanent: %v", err)
			}
			if got := failure.Reason(err); got != tc.reason {
				t.Errorf("reason = %q, want %q (%v)", got, tc.reason, err)
			}
			var ref *admission.Refusal
			if !errors.As(err, &ref) {
				t.Fatalf("Admit() error %T is not a *Refusal", err)
			}
			text, at := err.Error(), 0
			for _, w := range tc.want {
				i := strings.Index(text[at:], w)
				if i < 0 {
					t.Fatalf("refusal\n%s\nlacks (in order) %q", text, w)
				}
				at += i + len(w)
			}
		})
	}
}

func TestRefusalIsBounded(t *testing.T) {
	a := admitter(t)
	r := request(func(r *messages.SubmitRequested) {
		for i := range 500 {
			r.Flink.DynamicOptions = append(r.Flink.DynamicOptions, fmt.Sprintf("-Dkubernetes.jobmanager.service-account=sa-%d", i))
		}
	})
	// One key given 500 times counts once (the last wins, as in Flink).
	var ref *admission.Refusal
	if err := a.Admit(r); !errors.As(err, &ref) || len(ref.Problems) != 1 {
		t.Fatalf("Admit() = %v, want one problem", err)
	}
	r.Flink.DynamicOptions = nil
	tmpl := "spec:\n  containers:\n  - name: flink-main-container\n"
	for i := range 200 {
		tmpl += fmt.Sprintf("  - name: c%d\n    securityContext: {privileged: true}\n", i)
	}
	r.Kubernetes.JobManagerPodTemplate = tmpl
	r.Kubernetes.TaskManagerPodTemplate = tmpl
	r.Kubernetes.PodTemplate = tmpl
	err := a.Admit(r)
	if err == nil || len(err.Error()) > 64<<10 {
		t.Fatalf("Admit() error of %d bytes, want a bounded refusal", len(fmt.Sprint(err)))
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	_, err := admission.New(
		admission.Policy{Cluster: "a", PodSecurity: "strict"},
		admission.Policy{Cluster: "a", AllowedNamespaces: []string{"x"}, Default: true},
		admission.Policy{Cluster: "b", AllowedNamespaces: []string{"x"}, Default: true},
	)
	for _, want := range []string{`"a" is configured twice`, `"a" allows no namespace`, `"strict" is not privileged, baseline or restricted`, "more than one cluster is the default"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New() = %v, want it to mention %q", err, want)
		}
	}
}

// FuzzAdmit admits requests with arbitrary pod templates and dynamic
// options: never a panic, a refusal is permanent with a known reason and a
// bounded text, and a refused request stays refused when admitted again.
func FuzzAdmit(f *testing.F) {
	f.Add(restrictedTemplate, "-Dkubernetes.hostnetwork.enabled=true", "secure")
	f.Add("spec:\n  hostPID: true\n  containers:\n  - name: x\n", "-Dkubernetes.service-account=cluster-admin", "flink-jobs")
	f.Add("metadata:\n  annotations:\n    container.apparmor.security.beta.kubernetes.io/flink-main-container: unconfined\n", "-Dkubernetes.jobmanager.annotations=a:b,c", "flink-jobs")
	f.Add("- not a pod", "-D=", "kube-system")
	a, err := admission.New(admission.Policy{
		Cluster: "eu-west-1", Default: true, AllowedNamespaces: []string{"flink-jobs", "secure"},
		AllowedServiceAccounts: []string{"default", "flink"}, NamespacePodSecurity: map[string]admission.Level{"secure": admission.Restricted},
	})
	if err != nil {
		f.Fatal(err)
	}
	known := map[string]bool{"unknown_kube_cluster": true, "namespace_not_allowed": true, "service_account_not_allowed": true,
		"invalid_pod_template": true, "pod_security_violation": true}
	f.Fuzz(func(t *testing.T, tmpl, opt, ns string) {
		r := request(func(r *messages.SubmitRequested) {
			r.Job.Namespace = ns
			r.Kubernetes.PodTemplate = tmpl
			r.Kubernetes.TaskManagerPodTemplate = tmpl
			r.Flink.DynamicOptions = []string{opt}
		})
		err := a.Admit(r)
		if err == nil {
			return
		}
		if !failure.IsPermanent(err) || !known[failure.Reason(err)] {
			t.Fatalf("Admit() = %v (reason %q), want a permanent refusal with a known reason", err, failure.Reason(err))
		}
		if n := len(err.Error()); n > 64<<10 {
			t.Fatalf("refusal of %d bytes", n)
		}
		if again := a.Admit(r); again == nil || failure.Reason(again) != failure.Reason(err) {
			t.Fatalf("Admit() again = %v, want %v", again, err)
		}
	})
}

// TestAdmitWorkerServiceAccount: a request that names no service account
// runs as the one of the worker's Flink configuration, and that is the
// account checked (a cluster allowing flink but not default admits it).
func TestAdmitWorkerServiceAccount(t *testing.T) {
	a, err := admission.New(admission.Policy{Cluster: "eu-west-1", AllowedNamespaces: []string{"flink-jobs"}, AllowedServiceAccounts: []string{"flink"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		conf map[string]string
		edit func(r *messages.SubmitRequested)
		want string // substring of the refusal; "" admits
	}{
		{name: "no worker account: default is checked", want: `kubernetes.service_account: service account "default" is not allowed`},
		{name: "worker account allowed", conf: map[string]string{"kubernetes.service-account": "flink"}},
		{name: "worker account not allowed", conf: map[string]string{"kubernetes.service-account": "builder"},
			want: `kubernetes.service_account: the worker's kubernetes.service-account: service account "builder" is not allowed`},
		{name: "request field overrides the worker's", conf: map[string]string{"kubernetes.service-account": "flink"},
			edit: func(r *messages.SubmitRequested) { r.Kubernetes.ServiceAccount = "default" },
			want: `kubernetes.service_account: service account "default" is not allowed`},
		{name: "request option overrides the worker's", conf: map[string]string{"kubernetes.service-account": "flink"},
			edit: func(r *messages.SubmitRequested) {
				r.Flink.DynamicOptions = []string{"-Dkubernetes.service-account=default"}
			},
			want: `flink.dynamic_options[0]: service account "default" is not allowed`},
		{name: "worker's jobmanager account is checked", conf: map[string]string{"kubernetes.service-account": "flink", "kubernetes.jobmanager.service-account": "root"},
			want: `the worker's kubernetes.jobmanager.service-account: service account "root"`},
		{name: "request's jobmanager option replaces the worker's", conf: map[string]string{"kubernetes.service-account": "flink", "kubernetes.jobmanager.service-account": "root"},
			edit: func(r *messages.SubmitRequested) {
				r.Flink.DynamicOptions = []string{"-Dkubernetes.jobmanager.service-account=flink"}
			}},
		{name: "session job: no pods, worker accounts not checked", conf: map[string]string{"kubernetes.service-account": "root"},
			edit: func(r *messages.SubmitRequested) { r.Mode, r.SessionClusterID = messages.ModeSession, "shared" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := a.WithFlinkConf(tc.conf).Admit(request(tc.edit))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Admit() = %v, want nil", err)
			case tc.want != "" && err == nil:
				t.Fatalf("Admit() = nil, want %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("Admit() = %v, want %q", err, tc.want)
			case tc.want != "" && failure.Reason(err) != messages.DeployReasonServiceAccountNotAllowed:
				t.Fatalf("reason = %s, want %s", failure.Reason(err), messages.DeployReasonServiceAccountNotAllowed)
			}
		})
	}
	if err := a.Admit(request(nil)); err == nil {
		t.Fatal("WithFlinkConf changed the admitter it was called on")
	}
}

// TestAdmitSavepointLocations: with an allow-list of savepoint locations,
// no field or option of a submit request restores from or writes
// savepoints outside it; without one, any location is admitted.
func TestAdmitSavepointLocations(t *testing.T) {
	a := admitter(t).WithSavepointDirs([]string{"s3://flink-state/", "hdfs://nn/savepoints"})
	restore := func(p string) func(r *messages.SubmitRequested) {
		return func(r *messages.SubmitRequested) { r.Program.Savepoint = &messages.Savepoint{Path: p} }
	}
	option := func(o string) func(r *messages.SubmitRequested) {
		return func(r *messages.SubmitRequested) { r.Flink.DynamicOptions = []string{"-Dparallelism.default=2", o} }
	}
	for _, tc := range []struct {
		name  string
		edit  func(r *messages.SubmitRequested)
		field string // "" admitted
	}{
		{"no location", nil, ""},
		{"restore under a prefix", restore("s3://flink-state/orders/savepoint-ab12"), ""},
		{"restore at a prefix without a slash", restore("hdfs://nn/savepoints/sp-1"), ""},
		{"restore elsewhere", restore("s3://other-bucket/savepoint-ab12"), "program.savepoint.path"},
		{"sibling of a prefix", restore("hdfs://nn/savepoints2/sp-1"), "program.savepoint.path"},
		{"dot-dot out of a prefix", restore("s3://flink-state/../other/sp"), "program.savepoint.path"},
		{"periodic savepoints directory", func(r *messages.SubmitRequested) {
			r.Savepoints = &messages.SavepointPolicy{IntervalSeconds: 600, Directory: "file:///tmp/sp"}
		}, "savepoints.directory"},
		{"periodic savepoints allowed", func(r *messages.SubmitRequested) {
			r.Savepoints = &messages.SavepointPolicy{IntervalSeconds: 600, Directory: "s3://flink-state/periodic"}
		}, ""},
		{"state.savepoints.dir option", option("-Dstate.savepoints.dir=s3://evil/sp"), "flink.dynamic_options[1]"},
		{"Flink 2 savepoint-dir option", option("-Dexecution.checkpointing.savepoint-dir=s3://evil/sp"), "flink.dynamic_options[1]"},
		{"execution.savepoint.path option", option("-Dexecution.savepoint.path=s3://evil/sp"), "flink.dynamic_options[1]"},
		{"Flink 2 state-recovery option", option("-Dexecution.state-recovery.path=s3://evil/sp"), "flink.dynamic_options[1]"},
		{"allowed option", option("-Dstate.savepoints.dir=s3://flink-state/orders"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := a.Admit(request(tc.edit))
			if tc.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var r *admission.Refusal
			if !errors.As(err, &r) {
				t.Fatalf("admitted, want refused at %s", tc.field)
			}
			if got := failure.Reason(err); got != messages.DeployReasonSavepointLocationNotAllowed {
				t.Errorf("reason = %q, want %q", got, messages.DeployReasonSavepointLocationNotAllowed)
			}
			if len(r.Problems) != 1 || r.Problems[0].Field != tc.field || !strings.Contains(r.Problems[0].Message, "s3://flink-state/, hdfs://nn/savepoints") {
				t.Errorf("problems = %+v, want one at %s naming the allow-list", r.Problems, tc.field)
			}
		})
	}
	// Without an allow-list every location is admitted.
	if err := admitter(t).Admit(request(restore("s3://other-bucket/sp"))); err != nil {
		t.Errorf("no allow-list: %v", err)
	}
}
