package submit

import (
	"context"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/flinkferry/flinkferry/internal/admission"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/messages"
)

// TestAdmissionBeforeDeploy: requests that get around an allow-list or the
// namespace's Pod Security level through another field are refused with
// their own reason, and nothing reaches the API server.
func TestAdmissionBeforeDeploy(t *testing.T) {
	cs := fake.NewClientset()
	clusters := &kubeclusters.Set{}
	clusters.Add(kubeclusters.Config{Name: "default", Default: true, AllowedNamespaces: []string{"flink-jobs", "secure"},
		AllowedServiceAccounts: []string{"default"}, NamespacePodSecurity: map[string]string{"secure": "restricted"}}, cs)
	h := &Handler{Clusters: clusters, Topics: messages.DefaultTopics("flinkferry.")}
	for _, tt := range []struct {
		name   string
		mod    func(r *messages.SubmitRequested)
		reason string
	}{
		{"service account option", func(r *messages.SubmitRequested) {
			r.Flink.DynamicOptions = []string{"-Dkubernetes.service-account=cluster-admin"}
		}, messages.DeployReasonServiceAccountNotAllowed},
		{"jobmanager service account option", func(r *messages.SubmitRequested) {
			r.Flink.DynamicOptions = []string{"-Dkubernetes.jobmanager.service-account=cluster-admin"}
		}, messages.DeployReasonServiceAccountNotAllowed},
		{"host network option", func(r *messages.SubmitRequested) {
			r.Flink.DynamicOptions = []string{"-Dkubernetes.hostnetwork.enabled=true"}
		}, admission.ReasonPodSecurity},
		{"privileged template", func(r *messages.SubmitRequested) {
			r.Kubernetes.PodTemplate = "spec:\n  containers:\n  - name: flink-main-container\n    securityContext: {privileged: true}\n"
		}, admission.ReasonPodSecurity},
		{"wrong main container", func(r *messages.SubmitRequested) {
			r.Kubernetes.JobManagerPodTemplate = "spec:\n  containers:\n  - name: app\n"
		}, messages.DeployReasonInvalidPodTemplate},
		{"restricted namespace", func(r *messages.SubmitRequested) { r.Job.Namespace = "secure" }, admission.ReasonPodSecurity},
		{"namespace", func(r *messages.SubmitRequested) { r.Job.Namespace = "kube-system" }, messages.DeployReasonNamespaceNotAllowed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev := imageBuilt(messages.ModeApplication, tt.mod)
			ev.Job = ev.Request.Job
			outs, err := h.Handle(context.Background(), ev)
			if err != nil {
				t.Fatalf("Handle() = %v", err)
			}
			f, ok := outs[0].Event.(*messages.DeployFailed)
			if !ok || f.Reason != tt.reason {
				t.Fatalf("Handle() = %+v, want deploy failed %s", outs[0].Event, tt.reason)
			}
			// The control topic too: the track worker ends an upgrade or
			// restart whose new run this was (workers/track/handback.go).
			if got, want := outs[0].Topics, []string{h.Topics.Status, h.Topics.Control}; !slices.Equal(got, want) {
				t.Errorf("deploy failed published on %v, want %v", got, want)
			}
		})
	}
	for _, a := range cs.Actions() {
		if a.GetVerb() != "get" && a.GetVerb() != "list" && a.GetVerb() != "watch" {
			t.Errorf("refused requests reached the API server: %s %s", a.GetVerb(), a.GetResource().Resource)
		}
	}
}

// TestAdmissionChecksTheWorkersServiceAccount: on a cluster allowing
// flink but not default, a request naming no account is deployed when
// FLINK_CONF runs JobManagers as flink (the chart's setting), refused when
// it does not (the account would be default).
func TestAdmissionChecksTheWorkersServiceAccount(t *testing.T) {
	for _, tt := range []struct {
		name   string
		conf   []string
		reason string // "" deploys
	}{
		{"worker account allowed", []string{"kubernetes.service-account=flink"}, ""},
		{"no worker account", nil, messages.DeployReasonServiceAccountNotAllowed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cs := fake.NewClientset()
			clusters := &kubeclusters.Set{}
			clusters.Add(kubeclusters.Config{Name: "default", Default: true, AllowedNamespaces: []string{"flink-jobs"},
				AllowedServiceAccounts: []string{"flink"}}, cs)
			h := &Handler{Clusters: clusters, Topics: messages.DefaultTopics("flinkferry."), Config: SubmitConfig{FlinkConf: tt.conf}}
			ev := imageBuilt(messages.ModeApplication, nil)
			ev.Job = ev.Request.Job
			outs, err := h.Handle(context.Background(), ev)
			if err != nil {
				t.Fatalf("Handle() = %v", err)
			}
			f, failed := outs[0].Event.(*messages.DeployFailed)
			switch {
			case tt.reason == "" && failed:
				t.Fatalf("Handle() = deploy failed %s: %s, want deployed", f.Reason, f.Message)
			case tt.reason != "" && (!failed || f.Reason != tt.reason):
				t.Fatalf("Handle() = %+v, want deploy failed %s", outs[0].Event, tt.reason)
			}
			if tt.reason == "" {
				d, err := cs.AppsV1().Deployments("flink-jobs").Get(context.Background(), ev.Job.ClusterID, metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if got, want := d.Spec.Template.Spec.ServiceAccountName, "flink"; got != want {
					t.Fatalf("JobManager runs as %q, want %q", got, want)
				}
			}
		})
	}
}

// TestCheckPodSecurityOfMergedTemplate checks the Deployment about to be
// applied, not only the request.
func TestCheckPodSecurityOfMergedTemplate(t *testing.T) {
	ev := imageBuilt(messages.ModeApplication, func(r *messages.SubmitRequested) {
		r.Kubernetes.PodTemplate = "spec:\n  hostPID: true\n"
	})
	objs, err := BuildObjects(ev, EffectiveConf(ev, ev.JarName, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := checkPodSecurity(admission.Baseline, objs); err == nil {
		t.Error("checkPodSecurity(baseline, hostPID) = nil, want a violation")
	}
	if err := checkPodSecurity(admission.Privileged, objs); err != nil {
		t.Errorf("checkPodSecurity(privileged) = %v", err)
	}
}
