package main

import (
	"context"
	"errors"
)

// errNoWorker: the track worker's packages (workers/track with
// internal/jobstore and internal/flinkrest) are not in the module yet.
var errNoWorker = errors.New("worker mode is not available yet: workers/track, internal/jobstore and internal/flinkrest are not in the module")

func runWorker(ctx context.Context, args []string) error { return errNoWorker }

func workerMethod(replicas int) (method, error) { return method{}, errNoWorker }

func (e *env) failBurst(ctx context.Context, jobs int) error { return errNoWorker }
