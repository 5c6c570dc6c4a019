//go:build !trackworker

package main

import (
	"context"
	"errors"
)

// errNoWorker: the track worker's packages (workers/track with
// internal/jobstore, internal/flinkrest and workers/track/shard) are not in
// the module yet; worker_track.go and burst.go hold the worker mode and
// build with -tags trackworker once they are.
var errNoWorker = errors.New("worker mode is not available yet: build with -tags trackworker once workers/track, internal/jobstore and internal/flinkrest are in the module")

func runWorker(ctx context.Context, args []string) error { return errNoWorker }

func workerMethod(replicas int) (method, error) { return method{}, errNoWorker }

func (e *env) failBurst(ctx context.Context, jobs, count int) error { return errNoWorker }
