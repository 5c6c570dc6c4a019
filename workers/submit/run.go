package submit

import (
	"context"
	"errors"
)

// Run runs the submit worker until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	_ = ctx
	_ = cfg
	return errors.New("the submit worker is not implemented yet (issue #5)")
}
