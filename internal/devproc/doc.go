// Package devproc runs `flinkferry dev` as a subprocess, as a user starts
// it, for the end-to-end tests (test/e2e) and the dev benchmark
// (hack/devbench): Start gives it a state file of its own, collects its
// output and returns once it prints its ready line.
package devproc
