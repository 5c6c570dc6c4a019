package redisclient

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterReloadInterval bounds how long a cluster client routes by a slot
// map it has not refreshed (go-redis's default is 60 s).
const clusterReloadInterval = 5 * time.Second

// clusterOptions carries opts (from URL and the other fields) over to a
// client of the cluster whose nodes include ClusterAddrs.
func (c Config) clusterOptions(opts *redis.Options) *redis.ClusterOptions {
	return &redis.ClusterOptions{
		Addrs:                      c.ClusterAddrs,
		Username:                   opts.Username,
		Password:                   opts.Password,
		TLSConfig:                  opts.TLSConfig,
		DialTimeout:                opts.DialTimeout,
		ReadTimeout:                opts.ReadTimeout,
		WriteTimeout:               opts.WriteTimeout,
		ContextTimeoutEnabled:      opts.ContextTimeoutEnabled,
		PoolSize:                   opts.PoolSize,
		ClusterStateReloadInterval: clusterReloadInterval,
	}
}

// newCluster returns a cluster client that reloads its slot map after a
// failure that may mean the topology changed.
func newCluster(opts *redis.ClusterOptions) *redis.ClusterClient {
	cc := redis.NewClusterClient(opts)
	cc.AddHook(reloadHook{cc})
	return cc
}

// reloadHook refreshes the slot map after a command or pipeline failed
// for want of a master: go-redis refreshes it on MOVED and ASK, not when
// the master it routes to is dead (a killed master refuses connections
// until its replica is promoted, and the client would keep dialling it
// until the next periodic reload).
type reloadHook struct{ cc *redis.ClusterClient }

func (reloadHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h reloadHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if topologyError(err) {
			h.cc.ReloadState(ctx)
		}
		return err
	}
}

func (h reloadHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, c := range cmds {
			if topologyError(c.Err()) {
				h.cc.ReloadState(ctx)
				break
			}
		}
		return err
	}
}

// topologyError reports whether err may mean that a slot's master
// changed: a network error (refused, reset, timed out) or a cluster
// error reply (CLUSTERDOWN, TRYAGAIN, MASTERDOWN, READONLY).
func topologyError(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	for _, p := range []string{"CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN", "READONLY"} {
		if redis.HasErrorPrefix(err, p) {
			return true
		}
	}
	msg := err.Error()
	return strings.Contains(msg, "connection refused") || strings.Contains(msg, "failed to dial")
}
