package bus

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/flinkferry/flinkferry/messages"
)

// Config is the Kafka configuration every worker shares. It is read from
// FLINKFERRY_KAFKA_* variables.
type Config struct {
	// Brokers is the bootstrap broker list.
	Brokers []string `envconfig:"BROKERS" default:"127.0.0.1:9092" desc:"Kafka bootstrap brokers, comma-separated"`
	// TopicPrefix is prepended to every default topic name.
	TopicPrefix string `envconfig:"TOPIC_PREFIX" default:"flinkferry." desc:"prefix of every flinkferry topic"`
	// ConsumerGroup overrides the worker's consumer group (default flinkferry-<worker>).
	ConsumerGroup string `envconfig:"CONSUMER_GROUP" desc:"consumer group (default flinkferry-<worker>)"`
	// CreateTopics creates missing topics at start (needs the CreateTopics ACL).
	CreateTopics bool `envconfig:"CREATE_TOPICS" default:"false" desc:"create missing topics at start"`
	// Partitions and ReplicationFactor apply to topics created by CreateTopics.
	Partitions        int32 `envconfig:"PARTITIONS" default:"12" desc:"partitions of created topics"`
	ReplicationFactor int16 `envconfig:"REPLICATION_FACTOR" default:"3" desc:"replication factor of created topics (capped at the broker count)"`
	// SessionTimeout and HeartbeatInterval tune consumer group liveness.
	SessionTimeout    time.Duration `envconfig:"SESSION_TIMEOUT" default:"10s" desc:"consumer group session timeout"`
	HeartbeatInterval time.Duration `envconfig:"HEARTBEAT_INTERVAL" default:"3s" desc:"consumer group heartbeat interval"`
	// RebalanceTimeout bounds how long a rebalance waits for in-flight handlers.
	RebalanceTimeout time.Duration `envconfig:"REBALANCE_TIMEOUT" default:"60s" desc:"time a rebalance waits for in-flight messages"`

	SASL SASLConfig `envconfig:"SASL"`
	TLS  TLSConfig  `envconfig:"TLS"`
}

// SASLConfig selects SASL authentication. Password is a secret: it is never
// logged or included in errors.
type SASLConfig struct {
	Mechanism string `envconfig:"MECHANISM" desc:"SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (empty: no SASL)"`
	Username  string `envconfig:"USERNAME" desc:"SASL user name"`
	Password  string `envconfig:"PASSWORD" desc:"SASL password (secret)"`
}

// TLSConfig enables TLS to the brokers.
type TLSConfig struct {
	Enabled            bool   `envconfig:"ENABLED" default:"false" desc:"connect to the brokers over TLS"`
	CAFile             string `envconfig:"CA_FILE" desc:"PEM CA bundle (default: system roots)"`
	CertFile           string `envconfig:"CERT_FILE" desc:"PEM client certificate for mutual TLS"`
	KeyFile            string `envconfig:"KEY_FILE" desc:"PEM client key for mutual TLS"`
	InsecureSkipVerify bool   `envconfig:"INSECURE_SKIP_VERIFY" default:"false" desc:"do not verify the brokers' certificates (testing only)"`
}

// Topics returns the topic names under the configured prefix.
func (c Config) Topics() messages.Topics { return messages.DefaultTopics(c.TopicPrefix) }

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("kafka: BROKERS is empty"))
	}
	for _, b := range c.Brokers {
		if !strings.Contains(b, ":") {
			errs = append(errs, fmt.Errorf("kafka: broker %q has no port", b))
		}
	}
	if c.Partitions < 1 {
		errs = append(errs, errors.New("kafka: PARTITIONS must be >= 1"))
	}
	if c.ReplicationFactor < 1 {
		errs = append(errs, errors.New("kafka: REPLICATION_FACTOR must be >= 1"))
	}
	if c.HeartbeatInterval <= 0 || c.SessionTimeout < 3*c.HeartbeatInterval {
		errs = append(errs, errors.New("kafka: SESSION_TIMEOUT must be at least 3x HEARTBEAT_INTERVAL"))
	}
	switch strings.ToUpper(c.SASL.Mechanism) {
	case "":
	case sarama.SASLTypePlaintext, sarama.SASLTypeSCRAMSHA256, sarama.SASLTypeSCRAMSHA512:
		if c.SASL.Username == "" {
			errs = append(errs, errors.New("kafka: SASL_USERNAME is required with SASL_MECHANISM"))
		}
	default:
		errs = append(errs, fmt.Errorf("kafka: SASL_MECHANISM %q is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", c.SASL.Mechanism))
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("kafka: TLS_CERT_FILE and TLS_KEY_FILE go together"))
	}
	return errors.Join(errs...)
}

// Sarama returns the sarama configuration for a client of the given worker.
func (c Config) Sarama(clientID string) (*sarama.Config, error) {
	sc := sarama.NewConfig()
	sc.ClientID = clientID
	sc.Version = sarama.V2_8_0_0

	// Producer: no loss, no duplicates from producer retries.
	sc.Producer.RequiredAcks = sarama.WaitForAll
	sc.Producer.Idempotent = true
	sc.Net.MaxOpenRequests = 1
	sc.Producer.Retry.Max = 10
	sc.Producer.Retry.Backoff = 250 * time.Millisecond
	sc.Producer.Return.Successes = true
	sc.Producer.Return.Errors = true
	sc.Producer.MaxMessageBytes = 2 * messages.MaxPayloadBytes

	// Consumer: new groups read everything that is retained.
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	sc.Consumer.Return.Errors = true
	sc.Consumer.Group.Session.Timeout = c.SessionTimeout
	sc.Consumer.Group.Heartbeat.Interval = c.HeartbeatInterval
	sc.Consumer.Group.Rebalance.Timeout = c.RebalanceTimeout
	sc.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategySticky()}
	sc.Consumer.Offsets.AutoCommit.Interval = 500 * time.Millisecond
	sc.Metadata.Retry.Backoff = 500 * time.Millisecond

	if m := strings.ToUpper(c.SASL.Mechanism); m != "" {
		sc.Net.SASL.Enable = true
		sc.Net.SASL.Mechanism = sarama.SASLMechanism(m)
		sc.Net.SASL.User = c.SASL.Username
		sc.Net.SASL.Password = c.SASL.Password
		sc.Net.SASL.Handshake = true
		switch m {
		case sarama.SASLTypeSCRAMSHA256:
			sc.Net.SASL.SCRAMClientGeneratorFunc = scramClient(sha256Gen)
		case sarama.SASLTypeSCRAMSHA512:
			sc.Net.SASL.SCRAMClientGeneratorFunc = scramClient(sha512Gen)
		}
	}
	if c.TLS.Enabled {
		tc, err := c.TLS.config()
		if err != nil {
			return nil, err
		}
		sc.Net.TLS.Enable = true
		sc.Net.TLS.Config = tc
	}
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("validating sarama config: %w", err)
	}
	return sc, nil
}

func (t TLSConfig) config() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // opt-in for tests
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading kafka CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka CA file %s holds no PEM certificate", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("loading kafka client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
