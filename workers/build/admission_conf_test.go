package build

import (
	"testing"

	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/messages"
)

// TestAdmitterUsesTheSubmitWorkersServiceAccount: with an allow-list
// without default, a request naming no service account is admitted when
// SUBMIT_FLINK_CONF runs it as an allowed account (as the submit worker
// decides), and refused without it.
func TestAdmitterUsesTheSubmitWorkersServiceAccount(t *testing.T) {
	req := &messages.SubmitRequested{
		RequestID: "r1", Job: messages.JobRef{Namespace: "flink-jobs", ClusterID: "wordcount"}, Mode: messages.ModeApplication,
		Flink:   messages.FlinkOptions{Version: "1.20"},
		Program: &messages.Program{Jar: messages.Jar{URL: "https://artifacts.example.com/a.jar"}},
	}
	for _, tc := range []struct {
		name   string
		conf   []string
		reason string
	}{
		{"submit worker runs jobs as flink", []string{"kubernetes.service-account=flink"}, ""},
		{"no submit configuration", nil, messages.DeployReasonServiceAccountNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := BuildConfig{PolicyVars: kubeclusters.PolicyVars{AllowedNamespaces: []string{"flink-jobs"}, AllowedServiceAccounts: []string{"flink"}, PodSecurity: "baseline"},
				SubmitFlinkConf: tc.conf}
			adm, err := b.admitter()
			if err != nil {
				t.Fatal(err)
			}
			err = adm.Admit(req)
			if got := failure.Reason(err); (err == nil) != (tc.reason == "") || (err != nil && got != tc.reason) {
				t.Fatalf("Admit() = %v (reason %q), want reason %q", err, got, tc.reason)
			}
		})
	}
	if _, err := (BuildConfig{PolicyVars: kubeclusters.PolicyVars{AllowedNamespaces: []string{"x"}}, SubmitFlinkConf: []string{"no-equals"}}).admitter(); err == nil {
		t.Error("admitter() accepted a SUBMIT_FLINK_CONF entry without =")
	}
}
