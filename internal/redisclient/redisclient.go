package redisclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
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

// New returns a client and checks that the server answers.
func New(ctx context.Context, c Config) (*redis.Client, error) {
	opts, err := c.options()
	if err != nil {
		return nil, err
	}
	client := redis.NewClient(opts)
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("connecting to redis at %s: %w", opts.Addr, err)
	}
	return client, nil
}
