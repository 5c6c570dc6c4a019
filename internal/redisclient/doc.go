// Package redisclient configures go-redis clients from FLINKFERRY_REDIS_*
// variables: a redis:// or rediss:// URL, an optional password kept out of
// the URL, TLS with a custom CA, and command deadlines that follow the
// caller's context.
package redisclient
