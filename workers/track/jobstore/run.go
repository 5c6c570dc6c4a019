package jobstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/flinkferry/flinkferry/messages"
)

// Hash fields of the run's redeploy inputs (Register writes them, Run
// reads them). Every one starts with "run_": they belong to the run, so a
// new run replaces them, and Get, GetMany and List never read them (a
// request may be large, and 10,000 jobs are read at once).
const (
	fRunRequest     = "run_request"
	fRunRedacted    = "run_redacted"
	fRunJarName     = "run_jar_name"
	fRunJarArtifact = "run_jar_artifact"
	fRunJarSHA256   = "run_jar_sha256"
)

// runHashFields lists the run's redeploy inputs.
var runHashFields = []string{fRunRequest, fRunRedacted, fRunJarName, fRunJarArtifact, fRunJarSHA256}

// runFields are the fields Run reads.
var runFields = append([]string{
	fKubeCluster, fNamespace, fClusterID, fMode, fRequestID, fFlinkJobID, fSessionClusterID,
	fImage, fLabels, fDeployedAt,
}, runHashFields...)

// Run is the registered run of a job with what deploying it again needs:
// the request deployed, the image and the jar (messages.Deployed's
// Request, Image, JarName and JarArtifact).
type Run struct {
	// Key is Job.Key().
	Key string
	// Job names the Flink cluster (or session job).
	Job messages.JobRef
	// Mode is the deployment mode of the run.
	Mode messages.Mode
	// RequestID is the run's request id.
	RequestID string
	// FlinkJobID is the Flink job id; empty for a session cluster.
	FlinkJobID string
	// SessionClusterID is the session cluster running a session job.
	SessionClusterID string
	// Image is the deployed image, pinned by digest.
	Image string
	// JarName and JarArtifact are the job's jar as the image built event
	// named it; empty when the deployed event did not carry them.
	JarName, JarArtifact string
	// JarSHA256 is the jar's sha256, as the image built event gave it.
	JarSHA256 string
	// Labels are the request's labels.
	Labels map[string]string
	// DeployedAt is messages.Deployed.Time of the run.
	DeployedAt time.Time
	// Request is the request deployed, as stored: without the secrets
	// Redacted lists. Nil when the deployed event did not carry it (an
	// older submit worker, or a job recovered from Kubernetes).
	Request *messages.SubmitRequested
	// Redacted lists the request's fields the store changed so that it
	// keeps no secret, by their JSON path: "program.jar.url" (user
	// information or query string removed; deploying again uses the
	// image and the jar artifact, not the URL), "program.savepoint.path",
	// "program.args[<i>]" and the pod templates (URL user information
	// removed), "flink.dynamic_options[<key>]" (an option Flink treats as
	// sensitive, removed, or URL user information removed from its value).
	// Empty when the stored request is the one deployed. A request that
	// lost an option or an argument may not run as deployed.
	Redacted []string
}

// Run returns the registered run of the job with key, with its redeploy
// inputs (one HMGET); a job that is not stored is ErrNotFound.
func (s *Store) Run(ctx context.Context, key string) (*Run, error) {
	vals, err := s.rdb.HMGet(ctx, s.k.job(key), runFields...).Result()
	if err != nil {
		return nil, fmt.Errorf("reading run of %s: %w", key, err)
	}
	h := hashOf(runFields, vals)
	if len(h) == 0 {
		return nil, fmt.Errorf("reading run of %s: %w", key, ErrNotFound)
	}
	p := &parser{h: h}
	r := &Run{
		Key:              key,
		Job:              messages.JobRef{KubeCluster: h[fKubeCluster], Namespace: h[fNamespace], ClusterID: h[fClusterID]},
		Mode:             messages.Mode(h[fMode]),
		RequestID:        h[fRequestID],
		FlinkJobID:       h[fFlinkJobID],
		SessionClusterID: h[fSessionClusterID],
		Image:            h[fImage],
		JarName:          h[fRunJarName],
		JarArtifact:      h[fRunJarArtifact],
		JarSHA256:        h[fRunJarSHA256],
		DeployedAt:       p.time(fDeployedAt),
	}
	for _, f := range []struct {
		name string
		into any
	}{{fLabels, &r.Labels}, {fRunRequest, &r.Request}, {fRunRedacted, &r.Redacted}} {
		if s := h[f.name]; s != "" {
			if err := json.Unmarshal([]byte(s), f.into); err != nil && p.err == nil {
				p.err = fmt.Errorf("field %s: %w", f.name, err)
			}
		}
	}
	if p.err != nil {
		return nil, fmt.Errorf("reading run of %s: %w", key, p.err)
	}
	return r, nil
}

// hashOf pairs the fields of an HMGET with its values, leaving out the
// absent ones: the hash as far as fields go (empty when there is none).
func hashOf(fields []string, vals []any) map[string]string {
	h := make(map[string]string, len(fields))
	for i, v := range vals {
		if s, ok := v.(string); ok && i < len(fields) {
			h[fields[i]] = s
		}
	}
	return h
}

// runInputs adds the fields of d's redeploy inputs to f: the request as
// compact JSON without secrets (storedRequest) and the jar.
func runInputs(f *fields, d *messages.Deployed) error {
	if d.Request != nil {
		req, redacted, err := storedRequest(d.Request)
		if err != nil {
			return err
		}
		b, err := json.Marshal(req)
		if err != nil {
			return fmt.Errorf("encoding request: %w", err)
		}
		f.str(fRunRequest, string(b))
		if len(redacted) > 0 {
			b, err := json.Marshal(redacted)
			if err != nil {
				return fmt.Errorf("encoding request: %w", err)
			}
			f.str(fRunRedacted, string(b))
		}
	}
	f.str(fRunJarName, d.JarName)
	f.str(fRunJarArtifact, d.JarArtifact)
	f.str(fRunJarSHA256, d.JarSHA256)
	return nil
}

// storedRequest returns a copy of r without secrets, and the JSON paths
// of the fields it changed (Run.Redacted):
//
//   - program.jar.url loses its user information and its query string
//     (signed artifact URLs carry their token there);
//   - program.savepoint.path, program.args and the pod templates lose the
//     user information of every URL in them;
//   - a dynamic option whose key Flink itself treats as sensitive
//     (sensitiveOption) is removed; the others lose the user information
//     of URLs in their value.
//
// Credentials in a pod template's literal values (an env value) cannot
// be told apart and are kept: pod templates should reference Kubernetes
// Secrets instead (docs/redis.md).
// Redactions lists the fields of r the store changes to keep no secret
// (storedRequest), by their JSON path.
func Redactions(r *messages.SubmitRequested) []string {
	_, redacted, err := storedRequest(r)
	if err != nil {
		return []string{"request"}
	}
	return redacted
}

func storedRequest(r *messages.SubmitRequested) (*messages.SubmitRequested, []string, error) {
	// A deep copy: r is the caller's.
	b, err := json.Marshal(r)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding request: %w", err)
	}
	c := new(messages.SubmitRequested)
	if err := json.Unmarshal(b, c); err != nil {
		return nil, nil, fmt.Errorf("copying request: %w", err)
	}
	var redacted []string
	clean := func(path string, v *string, strip func(string) string) {
		if s := strip(*v); s != *v {
			*v = s
			redacted = append(redacted, path)
		}
	}
	if p := c.Program; p != nil {
		clean("program.jar.url", &p.Jar.URL, func(u string) string {
			u, _, _ = strings.Cut(stripUserinfo(u), "?")
			return u
		})
		for i := range p.Args {
			clean("program.args["+strconv.Itoa(i)+"]", &p.Args[i], redact)
		}
		if p.Savepoint != nil {
			clean("program.savepoint.path", &p.Savepoint.Path, stripUserinfo)
		}
	}
	k := &c.Kubernetes
	clean("kubernetes.pod_template", &k.PodTemplate, redact)
	clean("kubernetes.jobmanager_pod_template", &k.JobManagerPodTemplate, redact)
	clean("kubernetes.taskmanager_pod_template", &k.TaskManagerPodTemplate, redact)

	opts := c.Flink.DynamicOptions[:0]
	for i, o := range c.Flink.DynamicOptions {
		name, _, _ := strings.Cut(strings.TrimPrefix(o, "-D"), "=")
		path := "flink.dynamic_options[" + name + "]"
		if sensitiveOption(name) {
			redacted = append(redacted, path)
			continue
		}
		clean(path, &c.Flink.DynamicOptions[i], redact)
		opts = append(opts, c.Flink.DynamicOptions[i])
	}
	if len(opts) == 0 {
		opts = nil
	}
	c.Flink.DynamicOptions = opts
	return c, redacted, nil
}

// sensitiveKeys are the parts of Flink option keys whose values Flink
// hides ("******") in its logs and REST API (GlobalConfiguration's
// SENSITIVE_KEYS in current Flink releases).
var sensitiveKeys = []string{
	"password", "secret", "fs.azure.account.key", "apikey", "auth-params", "service-key",
	"token", "basic-auth", "jaas.config", "http-headers",
}

// sensitiveOption reports whether Flink treats the option key as
// sensitive: its lowercase form contains one of sensitiveKeys.
func sensitiveOption(key string) bool {
	k := strings.ToLower(key)
	for _, s := range sensitiveKeys {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}
