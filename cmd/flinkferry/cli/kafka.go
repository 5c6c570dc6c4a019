package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/kelseyhightower/envconfig"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/devstate"
	"github.com/flinkferry/flinkferry/messages"
)

// kafkaHelp is the paragraph of a command's help that says where its
// Kafka settings come from.
const kafkaHelp = `Kafka: --brokers/--topic-prefix, else FLINKFERRY_KAFKA_* variables, else the
running 'flinkferry dev', else 127.0.0.1:9092 and "flinkferry.".`

// kafkaFlags are the Kafka flags of every command that talks to Kafka
// (submit, events and the day-2 commands).
type kafkaFlags struct {
	brokers     []string
	topicPrefix string
}

// register declares --brokers and --topic-prefix on f.
func (k *kafkaFlags) register(f *pflag.FlagSet) {
	f.StringSliceVar(&k.brokers, "brokers", nil, "Kafka bootstrap brokers (default: FLINKFERRY_KAFKA_BROKERS, flinkferry dev, 127.0.0.1:9092)")
	f.StringVar(&k.topicPrefix, "topic-prefix", "", "topic prefix (default: FLINKFERRY_KAFKA_TOPIC_PREFIX, flinkferry dev, flinkferry.)")
}

// submitBusConfig resolves the Kafka settings: flag > FLINKFERRY_KAFKA_*
// variable > running flinkferry dev > default.
func submitBusConfig(cmd *cobra.Command, o kafkaFlags) (bus.Config, error) {
	var cfg bus.Config
	if err := envconfig.Process("FLINKFERRY_KAFKA", &cfg); err != nil {
		return cfg, fmt.Errorf("reading FLINKFERRY_KAFKA_* variables: %w", err)
	}
	_, brokersSet := os.LookupEnv("FLINKFERRY_KAFKA_BROKERS")
	_, prefixSet := os.LookupEnv("FLINKFERRY_KAFKA_TOPIC_PREFIX")
	if !brokersSet || !prefixSet {
		if st, err := devstate.Read(); err == nil {
			if !brokersSet && len(st.KafkaBrokers) > 0 {
				cfg.Brokers = st.KafkaBrokers
			}
			if !prefixSet && st.TopicPrefix != "" {
				cfg.TopicPrefix = st.TopicPrefix
			}
		}
	}
	if cmd.Flags().Changed("brokers") {
		cfg.Brokers = o.brokers
	}
	if cmd.Flags().Changed("topic-prefix") {
		cfg.TopicPrefix = o.topicPrefix
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// produce sends ev to topic as the CLI (CloudEvents source flinkferry/cli,
// keyed by the job) and waits until Kafka has it.
func produce(ctx context.Context, cfg bus.Config, ev messages.Event, topic string) error {
	p, err := bus.NewProducer(cfg, "flinkferry/cli")
	if err != nil {
		return fmt.Errorf("connecting to Kafka: %w", err)
	}
	sendErr := p.Send(ctx, ev, topic)
	closeErr := p.Close()
	return errors.Join(sendErr, closeErr)
}

// kgoSecurity turns the SASL and TLS settings of cfg into franz-go options.
// The password goes to the client only, never into an error.
func kgoSecurity(cfg bus.Config) ([]kgo.Opt, error) {
	var opts []kgo.Opt
	switch m := strings.ToUpper(cfg.SASL.Mechanism); m {
	case "":
	case "PLAIN":
		opts = append(opts, kgo.SASL(plain.Auth{User: cfg.SASL.Username, Pass: cfg.SASL.Password}.AsMechanism()))
	case "SCRAM-SHA-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: cfg.SASL.Username, Pass: cfg.SASL.Password}.AsSha256Mechanism()))
	case "SCRAM-SHA-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: cfg.SASL.Username, Pass: cfg.SASL.Password}.AsSha512Mechanism()))
	default:
		return nil, fmt.Errorf("kafka: SASL_MECHANISM %q is not supported", m)
	}
	if cfg.TLS.Enabled {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.TLS.InsecureSkipVerify} //nolint:gosec // opt-in for tests
		if cfg.TLS.CAFile != "" {
			pem, err := os.ReadFile(cfg.TLS.CAFile)
			if err != nil {
				return nil, fmt.Errorf("reading kafka CA file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("kafka CA file %s holds no PEM certificate", cfg.TLS.CAFile)
			}
			tc.RootCAs = pool
		}
		if cfg.TLS.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("loading kafka client certificate: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	return opts, nil
}
