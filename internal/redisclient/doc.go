// Package redisclient configures go-redis clients from FLINKFERRY_REDIS_*
// variables: a redis:// or rediss:// URL, an optional password kept out of
// the URL, TLS with a custom CA, and command deadlines that follow the
// caller's context. The same settings reach a single server, a
// Sentinel-managed master (SENTINEL_MASTER, SENTINEL_ADDRS) or a Redis
// Cluster (CLUSTER_ADDRS); New returns a redis.UniversalClient for all
// three, and a cluster client refreshes its slot map after a failed
// command, so a promoted replica is found at once.
package redisclient
