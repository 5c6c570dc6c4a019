package track

import (
	"context"
	"errors"
)

// Run runs the track worker until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	_ = ctx
	_ = cfg
	return errors.New("the track worker is not implemented yet (issue #6)")
}
