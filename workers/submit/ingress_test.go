package submit

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flinkferry/flinkferry/internal/flinksim"
	"github.com/flinkferry/flinkferry/internal/flinksim/simtest"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/internal/ops"
	"github.com/flinkferry/flinkferry/internal/redisclient"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
	"github.com/flinkferry/flinkferry/workers/track"
	"github.com/flinkferry/flinkferry/workers/track/jobstore"
)

// ingressVars is the template of these tests: host per job, TLS.
var ingressVars = IngressVars{
	IngressHost: "{cluster_id}.{namespace}.flink.example.com", IngressPath: "/", IngressClass: "nginx",
	IngressAnnotations: Annotations{"nginx.ingress.kubernetes.io/proxy-body-size": "64m"},
	IngressTLSSecret:   "{namespace}-flink-tls",
}

// TestIngressEndToEnd: the submit worker (kfake, real API server) creates
// the job's Ingress from the template; the API server accepts it; its URL
// is the deployed event's web_ui_url, and the track worker (Redis, Flink
// simulator) stores it and puts it in the status events.
func TestIngressEndToEnd(t *testing.T) {
	k, r, cp := testenv.Kafka(t), testenv.Redis(t), kubetest.Shared(t)
	cs := cp.Clientset()
	ctx := context.Background()
	ns := "ingress-e2e"
	kubetest.CreateNamespace(t, cs, ns)

	cfg := Config{Common: k.WorkerCommon(), Submit: SubmitConfig{
		PolicyVars:  kubeclusters.PolicyVars{AllowedNamespaces: []string{ns}, AllowedServiceAccounts: []string{"default"}},
		IngressVars: ingressVars,
	}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cfgs, err := cfg.Submit.clusters()
	if err != nil {
		t.Fatal(err)
	}
	clusters := &kubeclusters.Set{}
	clusters.Add(cfgs[0], cs)
	testenv.RunWorker(t, Spec(cfg, clusters))

	sim, hc := simtest.HostRouted(t, 16)
	tcfg := track.Config{Common: k.WorkerCommon(), Redis: redisclient.Config{URL: r.URL(), Timeout: 2 * time.Second}, Track: track.TrackConfig{
		JobStatusInterval: 500 * time.Millisecond, ClusterMetricInterval: time.Second,
		JobStatusTimeout: 30 * time.Second, ClusterMetricTimeout: 5 * time.Second,
		SilentStateKeep: 3 * time.Second, RequestTimeout: 400 * time.Millisecond, Concurrency: 8,
		Namespaces: []string{ns}, RestAccess: kubeclusters.RestAccessAuto, KubeQPS: 50, KubeBurst: 100,
		Shards: 4, LeaseTTL: 2 * time.Second, ReplicaID: "r1",
		RedisPrefix: "ff:", TerminalRetention: time.Hour, RecoveryInterval: time.Hour,
		OperationTimeout: time.Minute, SavepointsMaxCount: 3, SavepointsMaxAge: time.Hour, OperationInterval: 200 * time.Millisecond,
	}}
	if err := tcfg.Validate(); err != nil {
		t.Fatal(err)
	}
	tclusters := &kubeclusters.Set{}
	tclusters.Add(kubeclusters.Config{Name: "default", Default: true, AllowedNamespaces: []string{ns}}, cs)
	tspec := track.Spec(tcfg, track.Overrides{Clusters: tclusters, HTTPClient: hc})
	tspec.Ops = ops.New(slog.New(slog.DiscardHandler))
	testenv.RunWorker(t, tspec)

	ev := imageBuilt(messages.ModeApplication, func(r *messages.SubmitRequested) {
		r.Job = messages.JobRef{Namespace: ns, ClusterID: "wordcount"}
		r.RequestID = "wordcount-1"
		r.Labels = map[string]string{"team": "data"}
	})
	ev.Job, ev.RequestID, ev.Labels, ev.JarSHA256, ev.Time = ev.Request.Job, "wordcount-1", ev.Request.Labels, fmt.Sprintf("%064d", 7), time.Now()
	topics := cfg.Kafka.Topics()
	key, headers, value, err := messages.Encode(ev, messages.Envelope{Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	k.Produce(t, topics.ImageBuilt, key, value, headers)

	const wantURL = "https://wordcount.ingress-e2e.flink.example.com/"
	recs := k.Consume(t, topics.Deployed, 1, 60*time.Second)
	if len(recs) != 1 {
		t.Fatalf("deployed records = %d, want 1", len(recs))
	}
	got, _, err := messages.DecodeMessage(headerMap(recs[0]), "", recs[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	dep := got.(*messages.Deployed)
	if dep.WebUIURL != wantURL {
		t.Errorf("deployed web_ui_url = %q, want %q", dep.WebUIURL, wantURL)
	}

	// The Ingress, as the API server stored it.
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, "wordcount", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in, err := cs.NetworkingV1().Ingresses(ns).Get(ctx, IngressName("wordcount"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkIngress(t, in, d.UID, "wordcount.ingress-e2e.flink.example.com", "ingress-e2e-flink-tls")
	if got := d.Annotations[AnnotationWebUIURL]; got != wantURL {
		t.Errorf("Deployment annotation %s = %q, want %q (the track worker's recovery reads it)", AnnotationWebUIURL, got, wantURL)
	}
	if got := dep.ObjectUIDs["Ingress/wordcount"]; got != string(in.UID) {
		t.Errorf("deployed object_uids[Ingress/wordcount] = %q, want %q", got, in.UID)
	}
	if in.Labels["team"] != "data" {
		t.Errorf("Ingress labels = %v, want the request's labels like the other objects", in.Labels)
	}

	// The JobManager comes up and runs the job.
	pod, err := kubetest.CreatePodFor(ctx, cs, d, corev1.PodPending, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := kubetest.SetPodRunning(ctx, cs, ns, pod.Name); err != nil {
		t.Fatal(err)
	}
	if err := kubetest.SetDeploymentAvailable(ctx, cs, ns, "wordcount", 1); err != nil {
		t.Fatal(err)
	}
	sim.AddCluster("wordcount-rest", flinksim.ClusterOptions{Application: true, TaskManagers: 1, SlotsPerTaskManager: 1,
		Jobs: []flinksim.JobSpec{{ID: dep.FlinkJobID, Script: flinksim.Script{{State: flinksim.Running}}}}})

	rdb, err := redisclient.New(ctx, tcfg.Redis)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	store, err := jobstore.New(rdb, jobstore.Options{Prefix: "ff:", Shards: tcfg.Track.Shards})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	var j *jobstore.Job
	for {
		if j, err = store.Get(ctx, ev.Job.Key()); err == nil && j.State == messages.StateRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job not RUNNING in Redis within 30 s: %+v, %v", j, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if j.WebUIURL != wantURL {
		t.Errorf("Redis web_ui_url = %q, want %q", j.WebUIURL, wantURL)
	}
	var running *messages.JobStatusChanged
	for _, rec := range k.Consume(t, topics.Status, 3, 10*time.Second) {
		ev, _, err := messages.DecodeMessage(headerMap(rec), "", rec.Value)
		if err != nil {
			t.Fatal(err)
		}
		if c, ok := ev.(*messages.JobStatusChanged); ok && c.To == messages.StateRunning {
			running = c
		}
	}
	if running == nil || running.WebUIURL != wantURL {
		t.Fatalf("RUNNING status event = %+v, want web_ui_url %q", running, wantURL)
	}
}

// checkIngress checks what the API server stored: one rule for host to
// the REST Service's port 8081, TLS with the secret, the class and
// annotations of the template, flinkferry's labels, owned by the Deployment.
func checkIngress(t *testing.T, in *networkingv1.Ingress, owner any, host, secret string) {
	t.Helper()
	if len(in.Spec.Rules) != 1 || in.Spec.Rules[0].Host != host || in.Spec.Rules[0].HTTP == nil || len(in.Spec.Rules[0].HTTP.Paths) != 1 {
		t.Fatalf("Ingress rules = %+v, want one for %s", in.Spec.Rules, host)
	}
	p := in.Spec.Rules[0].HTTP.Paths[0]
	if p.Path != "/" || p.PathType == nil || *p.PathType != networkingv1.PathTypePrefix ||
		p.Backend.Service == nil || p.Backend.Service.Name != kubeclusters.RestServiceName("wordcount") || p.Backend.Service.Port.Number != kubeclusters.RestPort {
		t.Errorf("Ingress path = %+v, want / (Prefix) to %s:%d", p, kubeclusters.RestServiceName("wordcount"), kubeclusters.RestPort)
	}
	if len(in.Spec.TLS) != 1 || in.Spec.TLS[0].SecretName != secret || len(in.Spec.TLS[0].Hosts) != 1 || in.Spec.TLS[0].Hosts[0] != host {
		t.Errorf("Ingress TLS = %+v, want %s for %s", in.Spec.TLS, secret, host)
	}
	if in.Spec.IngressClassName == nil || *in.Spec.IngressClassName != "nginx" || in.Annotations["nginx.ingress.kubernetes.io/proxy-body-size"] != "64m" {
		t.Errorf("Ingress class %v, annotations %v, want the template's", in.Spec.IngressClassName, in.Annotations)
	}
	if in.Labels[LabelManagedBy] != ManagedByValue || in.Labels[LabelApp] != "wordcount" || in.Labels[LabelType] != LabelTypeValue {
		t.Errorf("Ingress labels = %v, want flinkferry's and Flink's", in.Labels)
	}
	if len(in.OwnerReferences) != 1 || in.OwnerReferences[0].Kind != "Deployment" || fmt.Sprint(in.OwnerReferences[0].UID) != fmt.Sprint(owner) {
		t.Errorf("Ingress owners = %+v, want the Deployment %v", in.OwnerReferences, owner)
	}
}

// TestIngressApplyIsIdempotent: applying the same objects again leaves the
// Ingress as it was (same resourceVersion); a job without a template gets
// none.
func TestIngressApplyIsIdempotent(t *testing.T) {
	cs := kubetest.Shared(t).Clientset()
	ctx := context.Background()
	ns := "ingress-apply"
	kubetest.CreateNamespace(t, cs, ns)
	ev := imageBuilt(messages.ModeApplication, func(r *messages.SubmitRequested) {
		r.Job = messages.JobRef{Namespace: ns, ClusterID: "wordcount"}
	})
	var versions []string
	for range 2 {
		objs := build(t, ev)
		url, err := objs.AddIngress(ingressVars.template(), ev.Job, "default")
		if err != nil {
			t.Fatal(err)
		}
		if want := "https://wordcount.ingress-apply.flink.example.com/"; url != want {
			t.Errorf("AddIngress() = %q, want %q", url, want)
		}
		applied, err := Apply(ctx, cs, objs)
		if err != nil {
			t.Fatal(err)
		}
		in, err := cs.NetworkingV1().Ingresses(ns).Get(ctx, "wordcount", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if applied["Ingress/wordcount"] != string(in.UID) {
			t.Errorf("Apply() = %v, want the Ingress's uid", applied)
		}
		checkIngress(t, in, applied["Deployment/wordcount"], "wordcount.ingress-apply.flink.example.com", "ingress-apply-flink-tls")
		versions = append(versions, in.ResourceVersion)
	}
	if versions[0] != versions[1] {
		t.Errorf("Ingress resourceVersion %s then %s: applying again changed it", versions[0], versions[1])
	}

	other := imageBuilt(messages.ModeApplication, func(r *messages.SubmitRequested) {
		r.Job = messages.JobRef{Namespace: ns, ClusterID: "plain"}
	})
	if _, err := Apply(ctx, cs, build(t, other)); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.NetworkingV1().Ingresses(ns).Get(ctx, "plain", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Ingress of a job without a template: %v, want NotFound", err)
	}
}

// TestIngressTemplateTooLongForAJob: a template whose host is no DNS name
// for this job's ids gives deploy failed before anything is applied.
func TestIngressTemplateTooLongForAJob(t *testing.T) {
	cs := kubetest.Shared(t).Clientset()
	ns := "ingress-long"
	kubetest.CreateNamespace(t, cs, ns)
	clusters := &kubeclusters.Set{}
	clusters.Add(kubeclusters.Config{Name: "default", Default: true, AllowedNamespaces: []string{ns}, AllowedServiceAccounts: []string{"default"},
		Ingress: &kubeclusters.Ingress{Host: "{cluster_id}-{namespace}-flink.example.com"}}, cs)
	h := &Handler{Clusters: clusters, Topics: messages.DefaultTopics("flinkferry.")}
	ev := imageBuilt(messages.ModeApplication, func(r *messages.SubmitRequested) {
		r.Job = messages.JobRef{Namespace: ns, ClusterID: "a-cluster-id-long-enough-to-overflow-a-dns-label"}
	})
	ev.Job = ev.Request.Job
	outs, err := h.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	f, ok := outs[0].Event.(*messages.DeployFailed)
	if !ok || f.Reason != messages.DeployReasonKubernetesRefused {
		t.Fatalf("Handle() = %+v, want deploy failed %s", outs[0].Event, messages.DeployReasonKubernetesRefused)
	}
	if _, err := cs.AppsV1().Deployments(ns).Get(context.Background(), ev.Job.ClusterID, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Deployment of a refused job: %v, want NotFound", err)
	}
}

// TestIngressConfig: the variables are checked at start.
func TestIngressConfig(t *testing.T) {
	base := kubeclusters.PolicyVars{AllowedNamespaces: []string{"flink"}, AllowedServiceAccounts: []string{"default"}}
	for _, tc := range []struct {
		name string
		cfg  SubmitConfig
		want string // "" is valid
	}{
		{name: "none", cfg: SubmitConfig{PolicyVars: base, IngressVars: IngressVars{IngressPath: "/"}}},
		{name: "template", cfg: SubmitConfig{PolicyVars: base, IngressVars: ingressVars}},
		{name: "unknown placeholder", cfg: SubmitConfig{PolicyVars: base, IngressVars: IngressVars{IngressHost: "{request_id}.example.com", IngressPath: "/"}},
			want: "unknown placeholder {request_id}"},
		{name: "not a DNS name", cfg: SubmitConfig{PolicyVars: base, IngressVars: IngressVars{IngressHost: "flink_{cluster_id}.example.com", IngressPath: "/"}},
			want: `ingress host "flink_c.example.com"`},
		{name: "class without host", cfg: SubmitConfig{PolicyVars: base, IngressVars: IngressVars{IngressClass: "nginx", IngressPath: "/"}},
			want: "INGRESS_HOST is required"},
		{name: "with a clusters file", cfg: SubmitConfig{PolicyVars: kubeclusters.PolicyVars{ClustersFile: "testdata/no-such-file.yaml"}, IngressVars: ingressVars},
			want: "INGRESS_* apply to the default cluster without CLUSTERS_FILE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfgs, err := tc.cfg.clusters()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("clusters() = %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("clusters() = %v, want %q", err, tc.want)
			case tc.want == "" && (cfgs[0].Ingress != nil) != (tc.cfg.IngressHost != ""):
				t.Fatalf("clusters()[0].Ingress = %+v", cfgs[0].Ingress)
			}
		})
	}
}

func TestAnnotationsDecode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Annotations
		err  bool
	}{
		{in: `a.io/x:1,b.io/auth-url:https://auth.example.com/check`, want: Annotations{"a.io/x": "1", "b.io/auth-url": "https://auth.example.com/check"}},
		{in: `{"a.io/snippet":"more_set_headers \"X: y, z\";"}`, want: Annotations{"a.io/snippet": `more_set_headers "X: y, z";`}},
		{in: ``, want: Annotations{}},
		{in: `novalue`, err: true},
		{in: `{"a": 1}`, err: true},
	} {
		var got Annotations
		err := got.Decode(tc.in)
		if (err != nil) != tc.err {
			t.Fatalf("Decode(%q) = %v, want error %v", tc.in, err, tc.err)
		}
		if !tc.err && fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("Decode(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestIngressSessionClusterAndJob: a session cluster gets its Ingress like
// an application cluster; a session job submitted to it reports the
// session cluster's Ingress URL as its Web UI.
func TestIngressSessionClusterAndJob(t *testing.T) {
	cs := kubetest.Shared(t).Clientset()
	ctx := context.Background()
	ns := "ingress-session"
	kubetest.CreateNamespace(t, cs, ns)
	tmpl := &kubeclusters.Ingress{Host: "{cluster_id}.{namespace}.flink.example.com"}
	clusters := &kubeclusters.Set{}
	clusters.Add(kubeclusters.Config{Name: "default", Default: true, AllowedNamespaces: []string{ns, sessionNS},
		AllowedServiceAccounts: []string{"default"}, Ingress: tmpl}, cs)

	h := &Handler{Clusters: clusters, Topics: messages.DefaultTopics("flinkferry.")}
	ev := imageBuilt(messages.ModeSessionCluster, func(r *messages.SubmitRequested) {
		r.Job = messages.JobRef{Namespace: ns, ClusterID: "shared"}
	})
	ev.Job = ev.Request.Job
	outs, err := h.Handle(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	dep, ok := outs[0].Event.(*messages.Deployed)
	if !ok || dep.WebUIURL != "http://shared.ingress-session.flink.example.com/" {
		t.Fatalf("Handle() = %+v, want deployed with the Ingress URL", outs[0].Event)
	}
	if _, err := cs.NetworkingV1().Ingresses(ns).Get(ctx, "shared", metav1.GetOptions{}); err != nil {
		t.Fatalf("session cluster's Ingress: %v", err)
	}

	reg := testenv.InProcessRegistry(t)
	res := stageJar(t, reg, sessionJar(t))
	s, _ := startSim(t, flinksim.ClusterOptions{})
	cfg := SubmitConfig{Registry: reg.Host, RegistryInsecure: true}
	hs := &Handler{Clusters: clusters, Topics: messages.DefaultTopics("flinkferry."), Config: cfg,
		SessionEndpoint: simEndpoint(s), Jars: NewRegistryJars(cfg)}
	outs, err = hs.Handle(ctx, sessionEvent(res, "req-ingress-session", nil))
	if err != nil {
		t.Fatal(err)
	}
	job, ok := outs[0].Event.(*messages.Deployed)
	if want := "http://session." + sessionNS + ".flink.example.com/"; !ok || job.WebUIURL != want {
		t.Fatalf("session job: %+v, want deployed with web_ui_url %s", outs[0].Event, want)
	}
}
