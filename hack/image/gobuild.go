package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Binary is the main package built for one platform.
type Binary struct {
	Platform v1.Platform
	Path     string
}

// goBuild cross-compiles c.Package for every platform into dir: static
// (CGO_ENABLED=0), without local paths (-trimpath), stripped, with the
// version and commit linked in as `go tool task build` does.
func goBuild(ctx context.Context, c *Config, dir string) ([]Binary, error) {
	ldflags := fmt.Sprintf("-s -w -X %[1]s.version=%[2]s -X %[1]s.commit=%[3]s", c.VersionPkg, c.Version, c.Commit)
	var out []Binary
	for _, p := range c.Platforms {
		bin := filepath.Join(dir, "flinkferry-"+strings.ReplaceAll(p.String(), "/", "-"))
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", ldflags, "-o", bin, c.Package)
		cmd.Dir = c.Dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Architecture)
		if p.Architecture == "arm" && p.Variant != "" {
			cmd.Env = append(cmd.Env, "GOARM="+strings.TrimPrefix(p.Variant, "v"))
		}
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stderr, &stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("go build %s for %s: %w\n%s", c.Package, p.String(), err, stderr.Bytes())
		}
		out = append(out, Binary{Platform: p, Path: bin})
	}
	return out, nil
}

// gitDefaults fills Version, Commit and Created from the repository when
// they are not given: `git describe --tags --always --dirty`, HEAD, and
// SOURCE_DATE_EPOCH or else HEAD's commit time (so a commit always gives
// the same image).
func gitDefaults(ctx context.Context, c *Config) error {
	git := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = c.Dir
		b, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	var err error
	if c.Version == "" {
		if c.Version, err = git("describe", "--tags", "--always", "--dirty"); err != nil {
			return err
		}
	}
	if c.Commit == "" {
		if c.Commit, err = git("rev-parse", "HEAD"); err != nil {
			return err
		}
	}
	if c.Created.IsZero() {
		s := os.Getenv("SOURCE_DATE_EPOCH")
		if s == "" {
			if s, err = git("log", "-1", "--format=%ct"); err != nil {
				return err
			}
		}
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH %q: %w", s, err)
		}
		c.Created = time.Unix(sec, 0).UTC()
	}
	return nil
}
