package build

import (
	"errors"
	"fmt"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/flinkferry/flinkferry/internal/admission"
	"github.com/flinkferry/flinkferry/internal/kubeclusters"
	"github.com/flinkferry/flinkferry/internal/redisclient"
	"github.com/flinkferry/flinkferry/internal/worker"
)

// Config is the build worker's configuration, read from FLINKFERRY_* variables.
type Config struct {
	worker.Common
	Build BuildConfig `envconfig:"BUILD"`
	// Redis holds the request hashes when Build.RequestHashes is on.
	Redis redisclient.Config `envconfig:"REDIS"`
}

// BuildConfig holds FLINKFERRY_BUILD_* variables: the seed's Docker register
// settings plus the artifact fetch policy.
type BuildConfig struct {
	Registry          string `envconfig:"REGISTRY" desc:"registry host[:port] images are pushed to (StreamPark: Docker register address)"`
	RegistryNamespace string `envconfig:"REGISTRY_NAMESPACE" default:"flinkferry" desc:"repository namespace in the registry (streampark.docker.register.image-namespace)"`
	RegistryUsername  string `envconfig:"REGISTRY_USERNAME" desc:"registry user (basic auth)"`
	RegistryPassword  string `envconfig:"REGISTRY_PASSWORD" desc:"registry password (secret; never logged)"`
	RegistryInsecure  bool   `envconfig:"REGISTRY_INSECURE" default:"false" desc:"talk plain HTTP to the registry (local registries only)"`
	DockerConfig      string `envconfig:"DOCKER_CONFIG_FILE" desc:"docker config.json with credentials for base image registries"`

	DefaultBaseImage string   `envconfig:"DEFAULT_BASE_IMAGE" default:"flink:{version}" desc:"base image when a request names none; {version} is the request's Flink version"`
	LayerEncoding    Encoding `envconfig:"LAYER_ENCODING" default:"gzip-stored" desc:"jar layer encoding: gzip-stored (gzip level 0) or gzip-fast (level 1)"`
	MirrorBase       bool     `envconfig:"MIRROR_BASE" default:"true" desc:"copy base images from other registries into REGISTRY once, so builds mount their layers"`
	Platforms        []string `envconfig:"PLATFORMS" desc:"platforms built from multi-arch bases, e.g. linux/amd64,linux/arm64 (empty: all)"`

	// PolicyVars (CLUSTERS_FILE, ALLOWED_*, *POD_SECURITY) are the submit
	// worker's: a request it would refuse is refused here, before anything
	// is fetched, built or pushed (package admission).
	kubeclusters.PolicyVars
	// SubmitFlinkConf is the submit worker's FLINK_CONF: a request naming
	// no service account runs as its kubernetes.service-account, so that
	// is the account admission checks here too.
	SubmitFlinkConf []string `envconfig:"SUBMIT_FLINK_CONF" desc:"the submit worker's FLINKFERRY_SUBMIT_FLINK_CONF (key=value pairs); its service-account options are the accounts admission checks for requests that name none"`

	ArtifactAllowedHosts []string `envconfig:"ARTIFACT_ALLOWED_HOSTS" desc:"hosts jars may be fetched from: host, host:port or *.domain (empty: none)"`
	ArtifactMaxBytes     int64    `envconfig:"ARTIFACT_MAX_BYTES" default:"1073741824" desc:"largest jar accepted, in bytes"`
	MavenRepository      string   `envconfig:"MAVEN_REPOSITORY" default:"https://repo1.maven.org/maven2" desc:"Maven repository for jar coordinates (its host must be allowed)"`
	WorkDir              string   `envconfig:"WORK_DIR" desc:"directory for downloaded jars (default: the system temp dir)"`

	RequestHashes          bool          `envconfig:"REQUEST_HASHES" default:"false" desc:"remember each built request id's content hash in Redis (FLINKFERRY_REDIS_*) and refuse the same request id with other content before anything is fetched (request_id_conflict, dead-lettered)"`
	RequestHashRetention   time.Duration `envconfig:"REQUEST_HASH_RETENTION" default:"720h" desc:"how long a request id's content hash is remembered"`
	RequestHashRedisPrefix string        `envconfig:"REQUEST_HASH_REDIS_PREFIX" default:"ff:build:" desc:"prefix of the build worker's Redis keys"`
}

// Validate reports every problem at once. Secrets never appear in errors.
func (c Config) Validate() error {
	errs := []error{c.Common.Validate()}
	b := c.Build
	if b.Registry == "" {
		errs = append(errs, errors.New("build: REGISTRY is required"))
	} else if strings.Contains(b.Registry, "/") {
		errs = append(errs, fmt.Errorf("build: REGISTRY %q must be host[:port] only; put the path in REGISTRY_NAMESPACE", b.Registry))
	}
	if (b.RegistryUsername == "") != (b.RegistryPassword == "") {
		errs = append(errs, errors.New("build: REGISTRY_USERNAME and REGISTRY_PASSWORD go together"))
	}
	if _, err := b.LayerEncoding.level(); err != nil {
		errs = append(errs, fmt.Errorf("build: LAYER_ENCODING: %w", err))
	}
	if _, err := b.platforms(); err != nil {
		errs = append(errs, err)
	}
	if _, err := b.Clusters("build", "", ""); err != nil {
		errs = append(errs, err)
	}
	if _, err := admission.ParseFlinkConf(b.SubmitFlinkConf); err != nil {
		errs = append(errs, fmt.Errorf("build: SUBMIT_FLINK_CONF: %w", err))
	}
	if b.ArtifactMaxBytes <= 0 {
		errs = append(errs, errors.New("build: ARTIFACT_MAX_BYTES must be > 0"))
	}
	if b.RequestHashes {
		if err := c.Redis.Validate(); err != nil {
			errs = append(errs, err)
		}
		if b.RequestHashRetention <= 0 {
			errs = append(errs, errors.New("build: REQUEST_HASH_RETENTION must be > 0"))
		}
		if b.RequestHashRedisPrefix == "" {
			errs = append(errs, errors.New("build: REQUEST_HASH_REDIS_PREFIX must not be empty"))
		}
	}
	if !strings.Contains(b.DefaultBaseImage, "{version}") && b.DefaultBaseImage == "" {
		errs = append(errs, errors.New("build: DEFAULT_BASE_IMAGE is empty"))
	}
	return errors.Join(errs...)
}

func (b BuildConfig) platforms() ([]v1.Platform, error) {
	var out []v1.Platform
	for _, s := range b.Platforms {
		p, err := v1.ParsePlatform(s)
		if err != nil {
			return nil, fmt.Errorf("build: PLATFORMS: %w", err)
		}
		out = append(out, *p)
	}
	return out, nil
}
