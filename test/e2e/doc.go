// Package e2e tests the flinkferry binary the way a user runs it: it builds
// ./cmd/flinkferry once, starts `flinkferry dev` as a subprocess on free
// ports with its own state file (FLINKFERRY_DEV_STATE), and runs
// `flinkferry submit`, `status` as further subprocesses that find dev
// through that state file alone, as README's quickstart does. It has no
// code outside its tests.
package e2e
