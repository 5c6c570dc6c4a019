// Command trackbench benchmarks the track worker against the physical
// reference, a bare loop that polls the same JobManagers and writes Redis
// (GitHub issue 6).
//
// The parent process starts a redis-server and a simulator process hosting
// one virtual JobManager per job (internal/flinksim), then runs each
// method as a child process, round-robin over several rounds so the noise
// of a shared machine hits every method alike. It measures the child's CPU
// (utime + stime from /proc after a warm-up), peak RSS (VmHWM), Redis
// commands per second, Flink REST requests per second and the staleness
// of every job (now - last successful poll, read from Redis at several
// instants), and prints a markdown table of the medians:
//
//	go tool task bench-track
//	go run ./hack/trackbench -jobs 1000 -methods bare-host,worker -window 30s
//
// With -mode suspend it measures day-2 operations instead (suspend.go,
// GitHub issue 14): n jobs tracked, n suspend requests at once through
// the control handler, until every job is SUSPENDED with its savepoint
// recorded:
//
//	go tool task bench-suspend
//	go run ./hack/trackbench -mode suspend -jobs 100,1000 -kube none,apiserver
//
// Subcommands (the parent starts them): sim, bare, worker.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "trackbench:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	cmd := "bench"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "bench":
		switch m := modeOf(args); m {
		case "track":
			return runBench(ctx, args)
		case "suspend":
			return runSuspend(ctx, args)
		default:
			return fmt.Errorf("-mode: unknown mode %q (track, suspend)", m)
		}
	case "sim":
		return runSim(ctx, args)
	case "bare":
		return runBare(ctx, args)
	case "worker":
		return runWorker(ctx, args)
	default:
		return fmt.Errorf("unknown subcommand %q (bench, sim, bare, worker)", cmd)
	}
}

func numCPU() int { return runtime.NumCPU() }

func goVersion() string { return runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH }
