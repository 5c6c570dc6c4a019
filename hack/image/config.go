package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// DefaultBase is distroless's static Debian 12 image, user nonroot
// (65532), pinned by the digest of its multi-platform index. The digest is
// the one public projects pin (Renovate, ko configurations); it could not
// be pulled from these machines to check (gcr.io is unreachable here).
const DefaultBase = "gcr.io/distroless/static-debian12:nonroot@sha256:afa5c872c891853ca7fcf1f12c3edb23f7eeef36189728842dd51042ff57f7ab"

// Config is one build and push of the image.
type Config struct {
	// Repository is where the image goes (registry/path, no tag).
	Repository string
	// Tags are the tags the index is pushed under (at least one).
	Tags []string
	// Base is the base image or index (a digest makes builds reproducible).
	Base string
	// Platforms are the platforms built, each one in the base.
	Platforms []v1.Platform
	// Dir is the module root; Package the main package built, relative to it.
	Dir, Package string
	// VersionPkg is the package whose version and commit variables are
	// set at link time (cmd/flinkferry/cli).
	VersionPkg string
	// Version and Commit are linked into the binary and written as labels.
	Version, Commit string
	// Created is the image's creation time and every layer entry's mtime.
	Created time.Time
	// Source and Licenses are the org.opencontainers.image labels of the same name.
	Source, Licenses string
	// Username and Password authenticate to the registry of Repository
	// (from the environment, never flags); empty: the Docker config file.
	Username, Password string
	// Insecure talks plain HTTP to the registries (local registries only).
	Insecure bool
}

func (c *Config) setDefaults() {
	if c.Base == "" {
		c.Base = DefaultBase
	}
	if len(c.Platforms) == 0 {
		c.Platforms = []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}}
	}
	if c.Package == "" {
		c.Package = "./cmd/flinkferry"
	}
	if c.VersionPkg == "" {
		c.VersionPkg = "github.com/flinkferry/flinkferry/cmd/flinkferry/cli"
	}
	if c.Dir == "" {
		c.Dir = "."
	}
	if c.Source == "" {
		c.Source = "https://github.com/flinkferry/flinkferry"
	}
	if c.Licenses == "" {
		c.Licenses = "NOASSERTION"
	}
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	if _, err := name.NewRepository(c.Repository, c.nameOpts()...); err != nil {
		errs = append(errs, fmt.Errorf("repository %q: %w", c.Repository, err))
	}
	if len(c.Tags) == 0 {
		errs = append(errs, errors.New("at least one tag is needed"))
	}
	for _, t := range c.Tags {
		if _, err := name.NewTag("example.com/x:"+t, name.StrictValidation); err != nil {
			errs = append(errs, fmt.Errorf("tag %q is not a valid tag", t))
		}
	}
	if _, err := name.ParseReference(c.Base, c.nameOpts()...); err != nil {
		errs = append(errs, fmt.Errorf("base %q: %w", c.Base, err))
	}
	seen := map[string]bool{}
	for _, p := range c.Platforms {
		if p.OS != "linux" || p.Architecture == "" {
			errs = append(errs, fmt.Errorf("platform %s: only linux/<arch> is built", p.String()))
		}
		if seen[p.String()] {
			errs = append(errs, fmt.Errorf("platform %s given twice", p.String()))
		}
		seen[p.String()] = true
	}
	if c.Version == "" || c.Commit == "" {
		errs = append(errs, errors.New("version and commit are needed (labels and the binary's version)"))
	}
	if c.Created.IsZero() {
		errs = append(errs, errors.New("creation time is needed (SOURCE_DATE_EPOCH or the commit time)"))
	}
	if (c.Username == "") != (c.Password == "") {
		errs = append(errs, errors.New("FLINKFERRY_IMAGE_USERNAME and FLINKFERRY_IMAGE_PASSWORD go together"))
	}
	return errors.Join(errs...)
}

func (c *Config) nameOpts() []name.Option {
	if c.Insecure {
		return []name.Option{name.Insecure}
	}
	return nil
}

// parsePlatforms reads "linux/amd64,linux/arm64".
func parsePlatforms(s string) ([]v1.Platform, error) {
	var out []v1.Platform
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := v1.ParsePlatform(f)
		if err != nil {
			return nil, fmt.Errorf("platform %q: %w", f, err)
		}
		out = append(out, *p)
	}
	return out, nil
}
