package flinkferry_test

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/workers/alert"
)

// TestAlertWorker renders the alert worker with its rules in values,
// applies it to the real API server, and checks that the worker's own
// parser accepts the rules file the ConfigMap holds and that the
// Deployment runs `flinkferry worker alert` with that file and the
// webhook secrets.
func TestAlertWorker(t *testing.T) {
	const release, ns = "alerttest", "ff-alerttest"
	out := helm(t, "template", release, ".", "--namespace", ns, "--kube-version", kubetest.KubernetesVersion,
		"-f", "testdata/values/alert.yaml")
	cp := kubetest.Shared(t)
	kinds := applyManifests(t, cp, out, ns)
	if got, want := kinds["Deployment"], 4; got != want {
		t.Errorf("Deployments = %d, want %d (build, submit, track, alert)", got, want)
	}
	ctx := context.Background()
	cs := cp.Clientset()

	cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, release+"-flinkferry-alert-rules", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rules, err := alert.ParseRules([]byte(cm.Data["rules.yaml"]))
	if err != nil {
		t.Fatalf("the worker refuses the chart's rules file: %v\n%s", err, cm.Data["rules.yaml"])
	}
	if got, want := len(rules.Rules), 4; got != want {
		t.Errorf("rules = %d, want %d", got, want)
	}
	if got, want := rules.Channels[0].URLEnv, "ALERT_SLACK_URL"; got != want {
		t.Errorf("channels[0].url_env = %q, want %q (the schema must let url_env through)", got, want)
	}

	d, err := cs.AppsV1().Deployments(ns).Get(ctx, release+"-flinkferry-alert", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]
	if got, want := strings.Join(c.Args, " "), "worker alert"; got != want {
		t.Errorf("args = %q, want %q", got, want)
	}
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	if got, want := env["FLINKFERRY_ALERT_RULES_FILE"], "/etc/flinkferry/alert/rules.yaml"; got != want {
		t.Errorf("FLINKFERRY_ALERT_RULES_FILE = %q, want %q", got, want)
	}
	if got, want := env["FLINKFERRY_ALERT_MIN_INTERVAL"], "1m"; got != want {
		t.Errorf("FLINKFERRY_ALERT_MIN_INTERVAL = %q, want %q", got, want)
	}
	var secrets []string
	for _, f := range c.EnvFrom {
		if f.SecretRef != nil {
			secrets = append(secrets, f.SecretRef.Name)
		}
	}
	if got, want := strings.Join(secrets, ","), "flinkferry-secrets,flinkferry-alert-webhooks"; got != want {
		t.Errorf("envFrom Secrets = %s, want %s", got, want)
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	if mounts["rules"] != "/etc/flinkferry/alert" || mounts["secrets"] != "/etc/flinkferry/alert-secrets" {
		t.Errorf("volume mounts = %v, want rules at /etc/flinkferry/alert and secrets at /etc/flinkferry/alert-secrets", mounts)
	}
	for _, v := range pod.Volumes {
		switch v.Name {
		case "rules":
			if v.ConfigMap == nil || v.ConfigMap.Name != cm.Name {
				t.Errorf("rules volume = %+v, want ConfigMap %s", v.VolumeSource, cm.Name)
			}
		case "secrets":
			if v.Secret == nil || v.Secret.SecretName != "flinkferry-alert-webhooks" {
				t.Errorf("secrets volume = %+v, want Secret flinkferry-alert-webhooks", v.VolumeSource)
			}
		}
	}
	if d.Spec.Template.Annotations["checksum/alert-rules"] == "" {
		t.Errorf("no checksum/alert-rules annotation: a new rules file would not roll the pods")
	}
	sa, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, release+"-flinkferry-alert", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Errorf("alert ServiceAccount mounts its token; the worker never calls the Kubernetes API")
	}
}

// TestAlertWorkerNeedsRules: enabling the alert worker without rules or an
// existing ConfigMap is refused at render time, not at the pod's start.
func TestAlertWorkerNeedsRules(t *testing.T) {
	wantRefused(t, "set workers.alert.rules", "workers.alert.enabled=true")
}
