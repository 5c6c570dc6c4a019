// Package alerttest starts the alert worker's real test peers, built by
// hack/peers.sh into ~/.cache/flinkferry/tools: an Alertmanager routing
// every alert to a webhook, and a Mailpit SMTP server with STARTTLS
// required and one user, whose messages are read back through its API.
package alerttest
