package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	c, err := parseFlags(os.Args[1:], os.Getenv)
	if err == nil {
		_, err = run(ctx, c, log, os.Stdout)
	}
	if err != nil {
		log.Error("image", "error", err)
		os.Exit(1)
	}
}

// parseFlags reads the flags; credentials come from the environment only.
func parseFlags(args []string, getenv func(string) string) (*Config, error) {
	c := &Config{}
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	fs.StringVar(&c.Repository, "repo", getenv("FLINKFERRY_IMAGE_REPOSITORY"), "repository pushed to, registry/path (FLINKFERRY_IMAGE_REPOSITORY)")
	tags := fs.String("tag", "", "comma-separated tags (default: the version)")
	fs.StringVar(&c.Base, "base", getenv("FLINKFERRY_IMAGE_BASE"), "base image (FLINKFERRY_IMAGE_BASE; default "+DefaultBase+")")
	platforms := fs.String("platforms", "linux/amd64,linux/arm64", "platforms built")
	fs.StringVar(&c.Dir, "C", ".", "module root")
	fs.StringVar(&c.Package, "package", "./cmd/flinkferry", "main package built")
	fs.StringVar(&c.VersionPkg, "version-pkg", "", "package whose version and commit variables are linked in")
	fs.StringVar(&c.Version, "version", "", "version (default git describe --tags --always --dirty)")
	fs.StringVar(&c.Commit, "commit", "", "commit (default HEAD)")
	fs.StringVar(&c.Source, "source", "", "org.opencontainers.image.source")
	fs.StringVar(&c.Licenses, "licenses", "", "org.opencontainers.image.licenses (SPDX expression)")
	fs.BoolVar(&c.Insecure, "insecure", false, "plain HTTP to the registries")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if c.Platforms, err = parsePlatforms(*platforms); err != nil {
		return nil, err
	}
	for _, t := range strings.Split(*tags, ",") {
		if t = strings.TrimSpace(t); t != "" {
			c.Tags = append(c.Tags, t)
		}
	}
	c.Username, c.Password = getenv("FLINKFERRY_IMAGE_USERNAME"), getenv("FLINKFERRY_IMAGE_PASSWORD")
	return c, nil
}

// Result is what a push produced.
type Result struct {
	// Index is repository@sha256:... of the index.
	Index name.Digest
	// Images are the platform images, in the order of Config.Platforms.
	Images []v1.Descriptor
	// SBOMs are the digests of the SBOM artifacts, one per image.
	SBOMs []v1.Hash
}

// run builds the binaries, assembles the index and pushes it with its
// SBOMs, then prints repository@digest on out.
func run(ctx context.Context, c *Config, log *slog.Logger, out io.Writer) (*Result, error) {
	if err := gitDefaults(ctx, c); err != nil {
		return nil, err
	}
	c.setDefaults()
	if len(c.Tags) == 0 {
		c.Tags = []string{strings.ReplaceAll(c.Version, "+", "-")}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "flinkferry-image-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	start := time.Now()
	bins, err := goBuild(ctx, c, tmp)
	if err != nil {
		return nil, err
	}
	log.Info("built", "package", c.Package, "platforms", len(bins), "version", c.Version, "commit", c.Commit, "took", time.Since(start).Round(time.Millisecond))
	return publish(ctx, c, bins, log, out)
}

// publish assembles and pushes an index of bins, with one SBOM per image.
func publish(ctx context.Context, c *Config, bins []Binary, log *slog.Logger, out io.Writer) (*Result, error) {
	opts, err := c.remoteOptions(ctx)
	if err != nil {
		return nil, err
	}
	repo, err := name.NewRepository(c.Repository, c.nameOpts()...)
	if err != nil {
		return nil, err
	}
	baseRef, err := name.ParseReference(c.Base, c.nameOpts()...)
	if err != nil {
		return nil, err
	}
	base, baseDigest, err := fetchBase(baseRef, c.Platforms, opts)
	if err != nil {
		return nil, err
	}
	m := Meta{Version: c.Version, Revision: c.Commit, Source: c.Source, Licenses: c.Licenses,
		Created: c.Created, BaseName: c.Base, BaseDigest: baseDigest.String()}
	idx, imgs, err := Assemble(base, bins, m)
	if err != nil {
		return nil, err
	}
	digest, err := idx.Digest()
	if err != nil {
		return nil, err
	}
	for i, t := range c.Tags {
		if i == 0 {
			err = remote.WriteIndex(repo.Tag(t), idx, opts...)
		} else {
			err = remote.Tag(repo.Tag(t), idx, opts...)
		}
		if err != nil {
			return nil, fmt.Errorf("pushing %s: %w", repo.Tag(t), err)
		}
	}
	res := &Result{Index: repo.Digest(digest.String())}
	for i, img := range imgs {
		d, err := imageDescriptor(img)
		if err != nil {
			return nil, err
		}
		sbom, err := SBOM(bins[i].Path, c.Source, c.Created)
		if err != nil {
			return nil, err
		}
		h, err := pushSBOM(repo, sbom, d, m.Labels()[keyCreated], opts)
		if err != nil {
			return nil, err
		}
		size, _ := imageSize(img)
		log.Info("pushed image", "platform", bins[i].Platform.String(), "digest", d.Digest.String(), "bytes", size, "sbom", h.String())
		res.Images = append(res.Images, d)
		res.SBOMs = append(res.SBOMs, h)
	}
	log.Info("pushed index", "ref", res.Index.String(), "tags", strings.Join(c.Tags, ","))
	_, err = fmt.Fprintln(out, res.Index.String())
	return res, err
}

func imageDescriptor(img v1.Image) (v1.Descriptor, error) {
	mt, err := img.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	h, err := img.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	n, err := img.Size()
	return v1.Descriptor{MediaType: mt, Digest: h, Size: n}, err
}

// imageSize is the compressed size of the image: its layers, config and manifest.
func imageSize(img v1.Image) (int64, error) {
	m, err := img.Manifest()
	if err != nil {
		return 0, err
	}
	n := m.Config.Size
	for _, l := range m.Layers {
		n += l.Size
	}
	raw, err := img.RawManifest()
	return n + int64(len(raw)), err
}
