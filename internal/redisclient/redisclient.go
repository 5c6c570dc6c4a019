package redisclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Config is read from FLINKFERRY_REDIS_*.
type Config struct {
	URL                string        `envconfig:"URL" default:"redis://127.0.0.1:6379/0" desc:"redis:// or rediss:// (TLS) URL; a password in it works but prefer REDIS_PASSWORD"`
	Username           string        `envconfig:"USERNAME" desc:"ACL user (overrides the URL's)"`
	Password           string        `envconfig:"PASSWORD" desc:"password (secret; overrides the URL's)"`
	TLSCAFile          string        `envconfig:"TLS_CA_FILE" desc:"PEM CA bundle for rediss:// (default: system roots)"`
	InsecureSkipVerify bool          `envconfig:"TLS_INSECURE_SKIP_VERIFY" default:"false" desc:"do not verify the server certificate (testing only)"`
	Timeout            time.Duration `envconfig:"TIMEOUT" default:"3s" desc:"dial, read and write timeout of one command"`
	PoolSize           int           `envconfig:"POOL_SIZE" default:"0" desc:"connections per client (0: 10 per CPU)"`
	// Sentinel: with SENTINEL_MASTER set, URL names only the database,
	// credentials and TLS of the master; the master's address comes from
	// the Sentinels, and a failover is followed without a restart.
	SentinelMaster   string   `envconfig:"SENTINEL_MASTER" desc:"Redis Sentinel: name of the monitored master (empty: connect to URL's host directly)"`
	SentinelAddrs    []string `envconfig:"SENTINEL_ADDRS" desc:"Redis Sentinel: comma-separated host:port of the Sentinels (required with SENTINEL_MASTER)"`
	SentinelUsername string   `envconfig:"SENTINEL_USERNAME" desc:"Redis Sentinel: ACL user of the Sentinels"`
	SentinelPassword string   `envconfig:"SENTINEL_PASSWORD" desc:"Redis Sentinel: password of the Sentinels (secret)"`

	// Cluster: with CLUSTER_ADDRS set, URL names only the credentials and
	// TLS of the nodes (its host is ignored, its database must be 0); the
	// other nodes and the slots are discovered, and a failover is
	// followed without a restart.
	ClusterAddrs []string `envconfig:"CLUSTER_ADDRS" desc:"Redis Cluster: comma-separated host:port of some of the cluster's nodes (empty: not a cluster)"`
}

// Mode is the kind of Redis deployment a Config reaches.
type Mode string

// Modes of Config.Mode.
const (
	ModeSingle   Mode = "single"
	ModeSentinel Mode = "sentinel"
	ModeCluster  Mode = "cluster"
)

// Mode says which deployment c reaches: a cluster when ClusterAddrs is
// set, a Sentinel-managed master when SentinelMaster is, else the
// single server of URL.
func (c Config) Mode() Mode {
	switch {
	case len(c.ClusterAddrs) > 0:
		return ModeCluster
	case c.SentinelMaster != "":
		return ModeSentinel
	}
	return ModeSingle
}

// Validate reports every problem at once; it never echoes the password.
func (c Config) Validate() error {
	var errs []error
	if _, err := c.options(); err != nil {
		errs = append(errs, err)
	}
	if c.Timeout <= 0 {
		errs = append(errs, errors.New("redis: TIMEOUT must be > 0"))
	}
	switch {
	case c.SentinelMaster == "" && len(c.SentinelAddrs) > 0:
		errs = append(errs, errors.New("redis: SENTINEL_ADDRS is set but SENTINEL_MASTER is not"))
	case c.SentinelMaster != "" && len(c.SentinelAddrs) == 0:
		errs = append(errs, errors.New("redis: SENTINEL_MASTER needs SENTINEL_ADDRS (host:port of the Sentinels)"))
	}
	for _, a := range c.SentinelAddrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf("redis: SENTINEL_ADDRS: %q is not host:port", a))
		}
	}
	for _, a := range c.ClusterAddrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf("redis: CLUSTER_ADDRS: %q is not host:port", a))
		}
	}
	if len(c.ClusterAddrs) > 0 {
		if c.SentinelMaster != "" || len(c.SentinelAddrs) > 0 {
			errs = append(errs, errors.New("redis: set either SENTINEL_* or CLUSTER_ADDRS, not both"))
		}
		if opts, err := c.options(); err == nil && opts.DB != 0 {
			errs = append(errs, fmt.Errorf("redis: a Redis Cluster has database 0 only, URL selects %d", opts.DB))
		}
	}
	return errors.Join(errs...)
}

func (c Config) options() (*redis.Options, error) {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
		return nil, errors.New("redis: URL must be redis://host:port/db or rediss://host:port/db")
	}
	opts, err := redis.ParseURL(c.URL)
	if err != nil {
		// go-redis errors can quote the URL, and with it a password.
		return nil, errors.New("redis: URL is not a valid redis URL")
	}
	if c.Username != "" {
		opts.Username = c.Username
	}
	if c.Password != "" {
		opts.Password = c.Password
	}
	opts.ContextTimeoutEnabled = true
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = c.Timeout, c.Timeout, c.Timeout
	if c.PoolSize > 0 {
		opts.PoolSize = c.PoolSize
	}
	if opts.TLSConfig != nil {
		opts.TLSConfig.InsecureSkipVerify = c.InsecureSkipVerify //nolint:gosec // opt-in for tests
		opts.TLSConfig.MinVersion = tls.VersionTLS12
		if c.TLSCAFile != "" {
			pem, err := os.ReadFile(c.TLSCAFile)
			if err != nil {
				return nil, fmt.Errorf("redis: reading TLS_CA_FILE: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("redis: TLS_CA_FILE %s holds no PEM certificate", c.TLSCAFile)
			}
			opts.TLSConfig.RootCAs = pool
		}
	}
	return opts, nil
}

// New returns a client and checks that the server answers (every master,
// for a cluster). With SentinelMaster set it is a failover client: it asks
// the Sentinels for the master and follows a failover. With ClusterAddrs
// set it is a cluster client: it routes each command to the master of its
// key's hash slot, splits pipelines by node and follows failovers and
// slot moves.
func New(ctx context.Context, c Config) (redis.UniversalClient, error) {
	opts, err := c.options()
	if err != nil {
		return nil, err
	}
	var client redis.UniversalClient
	var where string
	switch c.Mode() {
	case ModeCluster:
		cc := newCluster(c.clusterOptions(opts))
		client, where = cc, "cluster of "+strings.Join(c.ClusterAddrs, ",")
		if err := cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			return m.Ping(ctx).Err()
		}); err != nil {
			client.Close()
			return nil, fmt.Errorf("connecting to redis at %s: %w", where, err)
		}
	case ModeSentinel:
		client = redis.NewFailoverClient(c.failoverOptions(opts))
		where = fmt.Sprintf("master %q of sentinels %s", c.SentinelMaster, strings.Join(c.SentinelAddrs, ","))
	default:
		client, where = redis.NewClient(opts), opts.Addr
	}
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("connecting to redis at %s: %w", where, err)
	}
	return client, nil
}

// failoverOptions carries opts (from URL and the other fields) over to a
// Sentinel-backed client of master SentinelMaster.
func (c Config) failoverOptions(opts *redis.Options) *redis.FailoverOptions {
	return &redis.FailoverOptions{
		MasterName:            c.SentinelMaster,
		SentinelAddrs:         c.SentinelAddrs,
		SentinelUsername:      c.SentinelUsername,
		SentinelPassword:      c.SentinelPassword,
		Username:              opts.Username,
		Password:              opts.Password,
		DB:                    opts.DB,
		TLSConfig:             opts.TLSConfig,
		DialTimeout:           opts.DialTimeout,
		ReadTimeout:           opts.ReadTimeout,
		WriteTimeout:          opts.WriteTimeout,
		ContextTimeoutEnabled: opts.ContextTimeoutEnabled,
		PoolSize:              opts.PoolSize,
	}
}
