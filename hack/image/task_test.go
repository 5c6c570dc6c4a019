package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/flinkferry/flinkferry/internal/testenv"
)

// TestTaskImage runs `go tool task image` twice on the real flinkferry
// binary. Cross-compiling flinkferry for two platforms takes minutes on a
// cold build cache (~10 on two cores), so it runs only with
// FLINKFERRY_IMAGE_FULL=1; TestImage covers the same code on a small
// program in every run.
func TestTaskImage(t *testing.T) {
	if os.Getenv("FLINKFERRY_IMAGE_FULL") != "1" {
		t.Skip("set FLINKFERRY_IMAGE_FULL=1 to build the real flinkferry image (minutes on a cold build cache)")
	}
	reg := testenv.DockerRegistry(t)
	opts := []remote.Option{remote.WithContext(context.Background()), remote.WithAuth(&authn.Basic{Username: reg.Username, Password: reg.Password})}
	base := pushBase(t, reg, opts)
	task := func() string {
		start := time.Now()
		cmd := exec.Command("go", "tool", "task", "image", "REGISTRY="+reg.Host, "IMAGE=ff/flinkferry", "BASE="+base.String(), "TAG=task-test")
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), "FLINKFERRY_IMAGE_USERNAME="+reg.Username, "FLINKFERRY_IMAGE_PASSWORD="+reg.Password)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("go tool task image: %v\n%s", err, stderr.Bytes())
		}
		if strings.Contains(stderr.String(), reg.Password) {
			t.Errorf("the password appears in the task's output")
		}
		t.Logf("go tool task image: %v\n%s", time.Since(start).Round(time.Millisecond), stderr.Bytes())
		return strings.TrimSpace(stdout.String())
	}
	first, second := task(), task()
	if first != second {
		t.Errorf("two builds of one tree: %s and %s, want the same digest", first, second)
	}
	ref, err := name.NewDigest(first)
	if err != nil {
		t.Fatalf("the task printed %q, want repository@digest: %v", first, err)
	}
	idx, err := remote.Index(ref, opts...)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var archs []string
	for _, d := range im.Manifests {
		archs = append(archs, d.Platform.String())
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.Config.User != User || strings.Join(cf.Config.Entrypoint, " ") != Entrypoint || cf.Config.Labels[keyRevision] == "" {
			t.Errorf("%s: user %q entrypoint %q labels %v", d.Platform, cf.Config.User, cf.Config.Entrypoint, cf.Config.Labels)
		}
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		size, _ := imageSize(img)
		t.Logf("%s: %s, %d bytes compressed (base %d layer(s))", d.Platform, d.Digest, size, len(layers)-1)
		if d.Platform.Architecture == runtime.GOARCH {
			_, bin := readOnlyFile(t, layers[len(layers)-1])
			p := filepath.Join(t.TempDir(), "flinkferry")
			if err := os.WriteFile(p, bin, 0o755); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(p, "version").Output()
			if err != nil {
				t.Fatal(err)
			}
			if rev := cf.Config.Labels[keyRevision]; !strings.Contains(string(out), "commit "+rev) {
				t.Errorf("flinkferry version = %q, want commit %s", out, rev)
			}
			t.Logf("flinkferry version: %s", bytes.TrimSpace(out))
		}
	}
	if got, want := strings.Join(archs, ","), "linux/amd64,linux/arm64"; got != want {
		t.Errorf("platforms = %s, want %s", got, want)
	}
}
