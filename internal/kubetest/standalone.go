package kubetest

import "context"

// StartControlPlane starts a control plane outside a test (`flinkferry
// dev`), with its files in dir. The caller stops it with Stop; dir is left
// for the caller to remove. It fails when the binaries are missing (see
// BinDir) or the start does not complete within opts.StartTimeout.
func StartControlPlane(ctx context.Context, dir string, opts Options) (*ControlPlane, error) {
	return start(ctx, dir, opts)
}

// Available reports whether the control plane binaries are found.
func Available() bool {
	_, err := findBinaries(Options{})
	return err == nil
}
