// Package logging sets up log/slog for a worker: JSON lines on stderr, the
// logs of watermill, sarama, client-go (klog) and go-containerregistry routed
// into the same handler, and a logger carried in the context so that every
// line about a message names its request and job. Every line is bounded
// (Bound): a huge error or message text is cut, never written whole, and
// no line exceeds MaxLineBytes.
package logging
