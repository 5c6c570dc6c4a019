package submit

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/internal/worker"
)

// Config is the submit worker's configuration, read from FLINKFERRY_* variables.
type Config struct {
	worker.Common
	Submit SubmitConfig `envconfig:"SUBMIT"`
}

// SubmitConfig holds FLINKFERRY_SUBMIT_* variables.
type SubmitConfig struct {
	// Kubeconfig is the default Kubernetes cluster's kubeconfig file
	// (empty: in-cluster configuration).
	Kubeconfig string `envconfig:"KUBECONFIG" desc:"kubeconfig of the default Kubernetes cluster (empty: in-cluster)"`
	// PolicyVars (CLUSTERS_FILE, ALLOWED_*, *POD_SECURITY) say where
	// jobs may run and what their pods may do.
	kubeclusters.PolicyVars
	// RestAccess is how workers reach JobManagers on the default cluster.
	RestAccess string `envconfig:"REST_ACCESS" default:"auto" desc:"how workers reach JobManager REST endpoints: auto (by exposed type: cluster DNS, node port, load balancer) or service-proxy (through the API server)"`
	// KubeQPS and KubeBurst bound the worker's requests to each API server.
	// An application deployment is 4 requests (5 with a TaskManager pod
	// template): 200 a second allow 50 deployments a second; the API
	// server's priority and fairness shields it from bursts (BENCHMARKS.md).
	KubeQPS   float32 `envconfig:"KUBE_QPS" default:"200" desc:"requests per second to each Kubernetes API server (an application deployment is 4 requests, 5 with a Web UI Ingress)"`
	KubeBurst int     `envconfig:"KUBE_BURST" default:"400" desc:"request burst to each Kubernetes API server"`
	// IngressVars (INGRESS_*) are the default cluster's Web UI Ingress
	// template (a clusters file sets it per cluster instead). Embedded
	// with full names: envconfig falls back to the bare tag, and a nested
	// HOST or PATH would read the shell's $HOST or $PATH.
	IngressVars
	// FlinkConf is the worker's Flink configuration, between Flink's
	// defaults and the request's dynamic options: "key=value" pairs.
	FlinkConf []string `envconfig:"FLINK_CONF" desc:"Flink configuration for every cluster, key=value pairs separated by commas (under the request's dynamic options)"`

	// Registry is the build worker's registry, where session jobs' jars
	// are (FLINKFERRY_BUILD_REGISTRY); the credentials and INSECURE below
	// apply to it only, so they never reach another host.
	Registry         string `envconfig:"REGISTRY" desc:"registry host[:port] session jobs' jars are fetched from (the build worker's); USERNAME, PASSWORD and INSECURE apply to it only"`
	RegistryUsername string `envconfig:"REGISTRY_USERNAME" desc:"registry user (basic auth)"`
	RegistryPassword string `envconfig:"REGISTRY_PASSWORD" desc:"registry password (secret; never logged)"`
	RegistryInsecure bool   `envconfig:"REGISTRY_INSECURE" default:"false" desc:"talk plain HTTP to REGISTRY (local registries only)"`
	// DockerConfig holds credentials for any other registry.
	DockerConfig string `envconfig:"DOCKER_CONFIG_FILE" desc:"docker config.json with registry credentials (other registries than REGISTRY)"`
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	errs := []error{c.Common.Validate()}
	if r := c.Submit.RestAccess; r != "" && r != kubeclusters.RestAccessAuto && r != kubeclusters.RestAccessProxy {
		errs = append(errs, fmt.Errorf("submit: REST_ACCESS %q is not auto or service-proxy", r))
	}
	if _, err := c.Submit.clusters(); err != nil {
		errs = append(errs, err)
	}
	if _, err := c.Submit.flinkConf(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.Submit.validateRegistry())
	return errors.Join(errs...)
}

func (c SubmitConfig) flinkConf() (FlinkConf, error) {
	out := FlinkConf{}
	for _, kv := range c.FlinkConf {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("submit: FLINK_CONF entry %q is not key=value", kv)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}

// validateRegistry checks the session-job registry settings. Secrets
// never appear in its errors.
func (c SubmitConfig) validateRegistry() error {
	var errs []error
	if strings.Contains(c.Registry, "/") {
		errs = append(errs, fmt.Errorf("submit: REGISTRY %q must be host[:port] only", c.Registry))
	}
	if (c.RegistryUsername == "") != (c.RegistryPassword == "") {
		errs = append(errs, errors.New("submit: REGISTRY_USERNAME and REGISTRY_PASSWORD go together"))
	}
	if c.Registry == "" && (c.RegistryUsername != "" || c.RegistryInsecure) {
		errs = append(errs, errors.New("submit: REGISTRY_USERNAME, REGISTRY_PASSWORD and REGISTRY_INSECURE need REGISTRY (the host they apply to)"))
	}
	return errors.Join(errs...)
}

// IngressVars are FLINKFERRY_SUBMIT_INGRESS_*: the Ingress template of the
// single default cluster (kubeclusters.Ingress).
type IngressVars struct {
	IngressHost        string      `envconfig:"INGRESS_HOST" desc:"host of the Ingress created per Flink cluster for its Web UI, with {cluster_id}, {namespace}, {kube_cluster} (empty: no Ingress; without CLUSTERS_FILE only)"`
	IngressPath        string      `envconfig:"INGRESS_PATH" default:"/" desc:"path prefix of that Ingress, with the same placeholders"`
	IngressClass       string      `envconfig:"INGRESS_CLASS" desc:"IngressClass of that Ingress (empty: the cluster's default)"`
	IngressAnnotations Annotations `envconfig:"INGRESS_ANNOTATIONS" desc:"annotations of that Ingress, as given (no placeholders): a JSON object, or key:value pairs separated by commas"`
	IngressTLSSecret   string      `envconfig:"INGRESS_TLS_SECRET" desc:"Secret with the host's certificate, with the same placeholders; set, the Web UI URL is https"`
}

// set reports whether any variable is set (Path has a default).
func (v IngressVars) set() bool {
	return v.IngressHost != "" || v.IngressClass != "" || len(v.IngressAnnotations) > 0 || v.IngressTLSSecret != "" || (v.IngressPath != "" && v.IngressPath != "/")
}

// template returns the Ingress template of the variables, nil without a host.
func (v IngressVars) template() *kubeclusters.Ingress {
	if v.IngressHost == "" {
		return nil
	}
	return &kubeclusters.Ingress{Host: v.IngressHost, Path: v.IngressPath, ClassName: v.IngressClass, Annotations: map[string]string(v.IngressAnnotations), TLSSecret: v.IngressTLSSecret}
}

// Annotations is INGRESS_ANNOTATIONS: a JSON object (any value), or
// key:value pairs separated by commas, split at the first colon (so a
// value may be a URL, but not hold a comma).
type Annotations map[string]string

// Decode implements envconfig.Decoder.
func (a *Annotations) Decode(value string) error {
	m := map[string]string{}
	if v := strings.TrimSpace(value); strings.HasPrefix(v, "{") {
		if err := json.Unmarshal([]byte(v), &m); err != nil {
			return fmt.Errorf("not a JSON object of strings: %w", err)
		}
		*a = m
		return nil
	}
	for _, kv := range strings.Split(value, ",") {
		if strings.TrimSpace(kv) == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return fmt.Errorf("entry %q is not key:value", kv)
		}
		m[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	*a = m
	return nil
}
