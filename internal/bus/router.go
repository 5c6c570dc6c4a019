package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	wmetrics "github.com/ThreeDotsLabs/watermill/components/metrics"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/flinkferry/flinkferry/internal/logging"
)

// errShutdown marks a handler error caused by the consumer stopping.
var errShutdown = errors.New("consumer shutting down")

// Options configure a Router.
type Options struct {
	// Worker names the worker ("build", "submit", "track"): it picks the
	// default consumer group flinkferry-<worker> and the CloudEvents source.
	Worker string
	// Logger receives the router's and watermill's logs (default slog.Default()).
	Logger *slog.Logger
	// Registerer receives the router metrics (nil: not registered).
	Registerer prometheus.Registerer
	// Handler bounds attempts and retries.
	Handler HandlerConfig
}

// Router runs a worker's handlers: one consumer group subscription per
// handler, the shared middleware chain, and a publisher that sends each
// produced message to the topic it names.
type Router struct {
	cfg    Config
	opts   Options
	log    *slog.Logger
	wlog   watermill.LoggerAdapter
	router *message.Router
	pub    *kafka.Publisher
	out    message.Publisher
	// dlq publishes dead-letter records (the publisher; tests wrap it).
	dlq     message.Publisher
	metrics *routerMetrics
	// stopping is closed when shutdown begins: in-flight attempts finish,
	// no retry starts, nothing more is dead-lettered, and waits between
	// dead-letter publishes end.
	stopping chan struct{}
	// giveUps are the handlers' GiveUpFuncs by handler name, called by
	// the dead-letter middleware (HandleGivingUp).
	giveUps map[string]func(msg *message.Message, err error) []*message.Message
}

// NewRouter connects a publisher to the brokers and prepares an empty router.
func NewRouter(cfg Config, opts Options) (*Router, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := opts.Handler.Validate(); err != nil {
		return nil, err
	}
	if opts.Worker == "" {
		return nil, errors.New("bus: Options.Worker is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	// Every line the router, watermill and the handlers' loggers write is
	// bounded, whatever the message (issue 13).
	opts.Logger = logging.BoundLogger(opts.Logger)
	r := &Router{cfg: cfg, opts: opts, log: opts.Logger, wlog: newWatermillLogger(opts.Logger), stopping: make(chan struct{}),
		giveUps: map[string]func(*message.Message, error) []*message.Message{}}

	pub, err := newPublisher(cfg, "flinkferry-"+opts.Worker, r.wlog)
	if err != nil {
		return nil, err
	}
	r.pub = pub
	r.out = routingPublisher{pub: pub}
	r.dlq = pub

	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: closeTimeout}, r.wlog)
	if err != nil {
		return nil, fmt.Errorf("creating router: %w", err)
	}
	r.router = router

	if opts.Registerer != nil {
		wmetrics.NewPrometheusMetricsBuilder(opts.Registerer, "flinkferry", "").AddPrometheusRouterMetrics(router)
	}
	r.metrics = newRouterMetrics(opts.Registerer)

	router.AddMiddleware(
		middleware.CorrelationID,
		r.deadLetter,
		retry(opts.Handler, r.stopping, r.metrics.retries.Inc),
		middleware.Timeout(opts.Handler.Timeout),
		middleware.Recoverer,
	)
	return r, nil
}

// closeTimeout bounds how long shutdown waits for in-flight handlers.
const closeTimeout = 30 * time.Second

// Run consumes until ctx is cancelled. Shutdown then stops consuming and
// lets the attempts in flight finish (their context is not cancelled, for
// up to 30 s) and publish what they produce; no retry starts. Offsets of
// finished messages are committed when the consumer group session still
// allows it; otherwise the next consumer gets the message again and the
// idempotent handler finds its work done.
func (r *Router) Run(ctx context.Context) error {
	defer r.pub.Close()
	go func() {
		<-ctx.Done()
		close(r.stopping)
		_ = r.router.Close()
	}()
	if err := r.router.Run(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("running router: %w", err)
	}
	return nil
}

// Running is closed when every handler is subscribed and consuming.
func (r *Router) Running() chan struct{} { return r.router.Running() }

// IsRunning reports whether the router is consuming (for /readyz).
func (r *Router) IsRunning() bool { return r.router.IsRunning() }

// Close stops the router; Run then returns.
func (r *Router) Close() error { return r.router.Close() }

// addHandler subscribes a raw watermill handler to topic in the worker's consumer group.
func (r *Router) addHandler(name, topic string, h message.HandlerFunc) error {
	sub, err := newSubscriber(r.cfg, r.group(), "flinkferry-"+r.opts.Worker, r.wlog)
	if err != nil {
		return err
	}
	r.router.AddHandler(name, topic, sub, "routed-by-metadata", r.out, h)
	return nil
}

func (r *Router) group() string {
	if r.cfg.ConsumerGroup != "" {
		return r.cfg.ConsumerGroup
	}
	return "flinkferry-" + r.opts.Worker
}

func (r *Router) isStopping() bool {
	select {
	case <-r.stopping:
		return true
	default:
		return false
	}
}

// routingPublisher publishes each message to the topic named in its
// TopicMetadata, so one handler can emit to several topics.
type routingPublisher struct{ pub message.Publisher }

func (p routingPublisher) Publish(_ string, msgs ...*message.Message) error {
	for _, m := range msgs {
		topic := m.Metadata.Get(TopicMetadata)
		if topic == "" {
			return fmt.Errorf("message %s names no topic", m.UUID)
		}
		if err := p.pub.Publish(topic, m); err != nil {
			return fmt.Errorf("publishing to %s: %w", topic, err)
		}
	}
	return nil
}

func (p routingPublisher) Close() error { return nil }

func newPublisher(cfg Config, clientID string, l watermill.LoggerAdapter) (*kafka.Publisher, error) {
	sc, err := cfg.Sarama(clientID)
	if err != nil {
		return nil, err
	}
	pub, err := kafka.NewPublisher(kafka.PublisherConfig{
		Brokers:               cfg.Brokers,
		Marshaler:             marshaler{},
		OverwriteSaramaConfig: sc,
	}, l)
	if err != nil {
		return nil, fmt.Errorf("connecting publisher to %v: %w", cfg.Brokers, err)
	}
	return pub, nil
}

func newSubscriber(cfg Config, group, clientID string, l watermill.LoggerAdapter) (*kafka.Subscriber, error) {
	sc, err := cfg.Sarama(clientID)
	if err != nil {
		return nil, err
	}
	sub, err := kafka.NewSubscriber(kafka.SubscriberConfig{
		Brokers:               cfg.Brokers,
		Unmarshaler:           marshaler{},
		OverwriteSaramaConfig: sc,
		ConsumerGroup:         group,
		NackResendSleep:       100 * time.Millisecond,
		ReconnectRetrySleep:   time.Second,
	}, l)
	if err != nil {
		return nil, fmt.Errorf("creating subscriber: %w", err)
	}
	return sub, nil
}

// newWatermillLogger maps watermill's chatty info logs to debug.
func newWatermillLogger(l *slog.Logger) watermill.LoggerAdapter {
	return watermill.NewSlogLoggerWithLevelMapping(l.With("lib", "watermill"), map[slog.Level]slog.Level{
		slog.LevelInfo: slog.LevelDebug,
	})
}

// eventSource is the CloudEvents source of what a worker emits.
func eventSource(worker string) string { return "flinkferry/" + worker }
