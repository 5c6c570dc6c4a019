package kubeclusters

import (
	"strings"
	"testing"

	"github.com/flinkferry/flinkferry/messages"
)

func TestIngressRender(t *testing.T) {
	job := messages.JobRef{Namespace: "flink-jobs", ClusterID: "wordcount"}
	for _, tc := range []struct {
		name string
		in   Ingress
		want RenderedIngress
		err  string
	}{
		{name: "host only", in: Ingress{Host: "{cluster_id}.{namespace}.flink.example.com"},
			want: RenderedIngress{Host: "wordcount.flink-jobs.flink.example.com", Path: "/", URL: "http://wordcount.flink-jobs.flink.example.com/"}},
		{name: "path and tls", in: Ingress{Host: "flink.{kube_cluster}.example.com", Path: "/{namespace}/{cluster_id}", TLSSecret: "{cluster_id}-tls"},
			want: RenderedIngress{Host: "flink.eu-west-1.example.com", Path: "/flink-jobs/wordcount", TLSSecret: "wordcount-tls", URL: "https://flink.eu-west-1.example.com/flink-jobs/wordcount/"}},
		{name: "label too long for this job", in: Ingress{Host: "{cluster_id}-{namespace}-" + strings.Repeat("x", 50) + ".example.com"},
			err: `ingress host "wordcount-flink-jobs-xxxx`},
		{name: "relative path", in: Ingress{Host: "flink.example.com", Path: "{cluster_id}"}, err: `ingress path "wordcount" must be an absolute path`},
		{name: "bad secret", in: Ingress{Host: "flink.example.com", TLSSecret: "{cluster_id}_tls"}, err: `ingress tlsSecret "wordcount_tls"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.in.Render(job, "eu-west-1")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Render() = %+v, %v, want error %q", got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Render() = %v", err)
			}
			if got != tc.want {
				t.Fatalf("Render() = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestIngressValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   Ingress
		want []string // substrings of the error; none: valid
	}{
		{name: "valid", in: Ingress{Host: "{cluster_id}.{namespace}.example.com", Path: "/ui/{cluster_id}/", ClassName: "nginx",
			Annotations: map[string]string{"nginx.ingress.kubernetes.io/rewrite-target": "/$2"}, TLSSecret: "flink-{namespace}-tls"}},
		{name: "no host", in: Ingress{Path: "/"}, want: []string{"ingress host is required"}},
		{name: "unknown placeholders", in: Ingress{Host: "{job}.example.com", Path: "/{request_id}"},
			want: []string{"unknown placeholder {job}", "unknown placeholder {request_id}"}},
		{name: "host is not a DNS name", in: Ingress{Host: "Flink_{cluster_id}.example.com"}, want: []string{`ingress host "Flink_c.example.com"`}},
		{name: "wildcard host", in: Ingress{Host: "*.example.com"}, want: []string{`ingress host "*.example.com"`}},
		{name: "kube cluster name not DNS", in: Ingress{Host: "{kube_cluster}.example.com"}, want: []string{`ingress host "EU_1.example.com"`}},
		{name: "class and annotation", in: Ingress{Host: "flink.example.com", ClassName: "Nginx Public", Annotations: map[string]string{"bad key!": "x"}},
			want: []string{`ingress className "Nginx Public"`, `ingress annotation "bad key!"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.in.Validate("EU_1")
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %v, want it to contain %q", err, w)
				}
			}
		})
	}
}
