package main

import (
	"maps"
	"testing"
)

func TestModeOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{name: "absent", args: []string{"-jobs", "100"}, want: "track"},
		{name: "separate value", args: []string{"-jobs", "100", "-mode", "suspend"}, want: "suspend"},
		{name: "equals", args: []string{"--mode=suspend", "-jobs", "100"}, want: "suspend"},
		{name: "a value named mode", args: []string{"-logs", "mode"}, want: "track"},
		{name: "no value", args: []string{"-mode"}, want: "track"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := modeOf(tc.args), tc.want; got != want {
				t.Errorf("modeOf(%q) = %q, want %q", tc.args, got, want)
			}
		})
	}
}

func TestParseKubeVariant(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    kubeVariant
		wantErr bool
	}{
		{in: "none", want: kubeVariant{name: "none"}},
		{in: " apiserver", want: kubeVariant{name: "apiserver", kube: true}},
		{in: "apiserver:200", want: kubeVariant{name: "apiserver:200", kube: true, qps: 200, burst: 400}},
		{in: "apiserver:0", wantErr: true},
		{in: "apiserver:x", wantErr: true},
		{in: "kind", wantErr: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseKubeVariant(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseKubeVariant(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("parseKubeVariant(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseAPIRequests(t *testing.T) {
	const metrics = `# HELP apiserver_request_total [STABLE] Counter of apiserver requests.
# TYPE apiserver_request_total counter
apiserver_request_total{code="200",component="apiserver",dry_run="",group="apps",resource="deployments",scope="namespace",subresource="",verb="GET",version="v1"} 12
apiserver_request_total{code="404",component="apiserver",dry_run="",group="apps",resource="deployments",scope="namespace",subresource="",verb="GET",version="v1"} 3
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="configmaps",scope="namespace",subresource="",verb="LIST",version="v1"} 7
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="namespaces",scope="cluster",subresource="",verb="LIST",version="v1"} 100
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="",scope="",subresource="",verb="GET",version=""} 5
apiserver_request_duration_seconds_count{verb="GET"} 9
`
	got, err := parseAPIRequests(metrics)
	if err != nil {
		t.Fatalf("parseAPIRequests() error = %v", err)
	}
	if want := map[string]float64{"GET": 15, "LIST": 7}; !maps.Equal(got, want) {
		t.Errorf("parseAPIRequests() = %v, want %v", got, want)
	}
	if _, err := parseAPIRequests(`apiserver_request_total{resource="pods",verb="GET"} x`); err == nil {
		t.Error("parseAPIRequests(bad value) error = nil, want an error")
	}
}

func TestParseCommandStats(t *testing.T) {
	const info = "# Commandstats\r\ncmdstat_hset:calls=49,usec=120,usec_per_call=2.45,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_evalsha:calls=13,usec=900,usec_per_call=69.2,rejected_calls=0,failed_calls=2\r\n"
	got, err := parseCommandStats(info)
	if err != nil {
		t.Fatalf("parseCommandStats() error = %v", err)
	}
	if want := map[string]int64{"hset": 49, "evalsha": 13}; !maps.Equal(got, want) {
		t.Errorf("parseCommandStats() = %v, want %v", got, want)
	}
}
