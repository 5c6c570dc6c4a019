package main

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/flinkferry/flinkferry/internal/testenv"
)

var created = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// pushBase pushes a two-platform OCI index to reg, each image with a
// random layer and distroless's nonroot config, and returns its reference.
func pushBase(t *testing.T, reg testenv.Registry, opts []remote.Option) name.Reference {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(512, 1)
		if err != nil {
			t.Fatal(err)
		}
		img = mutate.MediaType(img, types.OCIManifestSchema1)
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = "linux", arch
		cf.Config = v1.Config{User: "65532", WorkingDir: "/home/nonroot", Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin"}}
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		p := v1.Platform{OS: "linux", Architecture: arch}
		if arch == "arm64" {
			p.Variant = "v8" // as distroless lists it
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	ref, err := name.ParseReference(reg.Host + "/base/static:nonroot")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx, opts...); err != nil {
		t.Fatalf("pushing base: %v", err)
	}
	return ref
}

func testConfig(reg testenv.Registry, base string) *Config {
	return &Config{
		Repository: reg.Host + "/flinkferry/flinkferry", Tags: []string{"0.1.0-test"}, Base: base,
		Dir: "../..", Package: "./hack/image/testdata/tiny", VersionPkg: "main",
		Version: "v0.1.0-test", Commit: "0123456789abcdef0123456789abcdef01234567", Created: created,
		Username: reg.Username, Password: reg.Password,
	}
}

// TestImage pushes the image twice to Debian's docker-registry (htpasswd
// auth) on a synthesized two-platform base and reads it back: index,
// configs, the binary layer, SBOM referrers, same digests both times.
func TestImage(t *testing.T) {
	reg := testenv.DockerRegistry(t)
	ctx := context.Background()
	auth := remote.WithAuth(&authn.Basic{Username: reg.Username, Password: reg.Password})
	opts := []remote.Option{remote.WithContext(ctx), auth}
	baseRef := pushBase(t, reg, opts)
	baseDesc, err := remote.Head(baseRef, opts...)
	if err != nil {
		t.Fatal(err)
	}

	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	var printed bytes.Buffer
	start := time.Now()
	res, err := run(ctx, testConfig(reg, baseRef.String()), log, &printed)
	if err != nil {
		t.Fatalf("run() = %v", err)
	}
	t.Logf("first build and push: %v, %s", time.Since(start).Round(time.Millisecond), res.Index)
	if got, want := strings.TrimSpace(printed.String()), res.Index.String(); got != want {
		t.Errorf("printed %q, want %q", got, want)
	}

	// The index, by its tag.
	tagged, err := name.ParseReference(reg.Host + "/flinkferry/flinkferry:0.1.0-test")
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(tagged, opts...)
	if err != nil {
		t.Fatalf("pulling index: %v", err)
	}
	if err := validate.Index(idx); err != nil {
		t.Errorf("validate.Index() = %v", err)
	}
	if h, _ := idx.Digest(); h.String() != res.Index.DigestStr() {
		t.Errorf("tag points at %s, want %s", h, res.Index.DigestStr())
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := im.MediaType, types.OCIImageIndex; got != want {
		t.Errorf("index media type = %s, want %s", got, want)
	}
	if got, want := len(im.Manifests), 2; got != want {
		t.Fatalf("index has %d manifests, want %d", got, want)
	}
	if got, want := im.Annotations[keyRevision], "0123456789abcdef0123456789abcdef01234567"; got != want {
		t.Errorf("index revision annotation = %q, want %q", got, want)
	}

	wantLabels := map[string]string{
		keySource: "https://github.com/flinkferry/flinkferry", keyRevision: "0123456789abcdef0123456789abcdef01234567",
		keyVersion: "v0.1.0-test", keyCreated: "2026-05-01T12:00:00Z", keyLicenses: "NOASSERTION", keyTitle: "flinkferry",
		keyBaseName: baseRef.String(), keyBaseDigest: baseDesc.Digest.String(),
	}
	wantELF := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
	for i, d := range im.Manifests {
		arch := []string{"amd64", "arm64"}[i]
		t.Run(arch, func(t *testing.T) {
			if d.Platform == nil || d.Platform.OS != "linux" || d.Platform.Architecture != arch {
				t.Fatalf("manifest %d platform = %v, want linux/%s", i, d.Platform, arch)
			}
			if got, want := d.Digest, res.Images[i].Digest; got != want {
				t.Errorf("digest = %s, want %s (run's result)", got, want)
			}
			img, err := idx.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if got, want := cf.Config.User, "65532:65532"; got != want {
				t.Errorf("user = %q, want %q", got, want)
			}
			if got, want := strings.Join(cf.Config.Entrypoint, " "), "/flinkferry"; got != want {
				t.Errorf("entrypoint = %q, want %q", got, want)
			}
			if got, want := cf.Config.WorkingDir, "/home/nonroot"; got != want {
				t.Errorf("working dir = %q, want %q", got, want)
			}
			if got, want := cf.Architecture, arch; got != want {
				t.Errorf("config architecture = %q, want %q", got, want)
			}
			if !cf.Created.Time.Equal(created) {
				t.Errorf("created = %v, want %v", cf.Created.Time, created)
			}
			if len(cf.Config.Env) == 0 {
				t.Errorf("the base's environment was lost")
			}
			for k, want := range wantLabels {
				if got := cf.Config.Labels[k]; got != want {
					t.Errorf("label %s = %q, want %q", k, got, want)
				}
			}
			layers, err := img.Layers()
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(layers), 2; got != want {
				t.Fatalf("%d layers, want %d (base + binary)", got, want)
			}
			hdr, bin := readOnlyFile(t, layers[1])
			if hdr.Name != "flinkferry" || hdr.Mode != 0o555 || hdr.Uid != 0 || hdr.Gid != 0 || !hdr.ModTime.Equal(created) {
				t.Errorf("layer entry = %s mode %o uid %d gid %d mtime %v, want flinkferry 555 0 0 %v", hdr.Name, hdr.Mode, hdr.Uid, hdr.Gid, hdr.ModTime, created)
			}
			ef, err := elf.NewFile(bytes.NewReader(bin))
			if err != nil {
				t.Fatalf("binary is not ELF: %v", err)
			}
			if got, want := ef.Machine, wantELF[arch]; got != want {
				t.Errorf("binary machine = %v, want %v", got, want)
			}
			if arch == runtime.GOARCH {
				p := filepath.Join(t.TempDir(), "flinkferry")
				if err := os.WriteFile(p, bin, 0o755); err != nil {
					t.Fatal(err)
				}
				out, err := exec.Command(p).Output()
				if err != nil {
					t.Fatal(err)
				}
				if got, want := string(out), "tiny v0.1.0-test 0123456789abcdef0123456789abcdef01234567\n"; got != want {
					t.Errorf("binary printed %q, want %q (version and commit linked in)", got, want)
				}
			}
			checkSBOM(t, res.Index.Context(), d, arch, res.SBOMs[i], opts)
		})
	}

	// Same inputs, same digests.
	start = time.Now()
	again, err := run(ctx, testConfig(reg, baseRef.String()), log, io.Discard)
	if err != nil {
		t.Fatalf("second run() = %v", err)
	}
	t.Logf("second build and push: %v", time.Since(start).Round(time.Millisecond))
	if again.Index != res.Index {
		t.Errorf("second build = %s, want %s (reproducible)", again.Index, res.Index)
	}
	for i := range res.SBOMs {
		if again.SBOMs[i] != res.SBOMs[i] {
			t.Errorf("second SBOM %d = %s, want %s", i, again.SBOMs[i], res.SBOMs[i])
		}
	}
	if strings.Contains(logs.String(), reg.Password) {
		t.Errorf("the registry password appears in the log")
	}
}

// readOnlyFile returns the one entry of a layer and its content.
func readOnlyFile(t *testing.T, l v1.Layer) (*tar.Header, []byte) {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	hdr, err := tr.Next()
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(tr)
	if err != nil {
		t.Fatal(err)
	}
	if next, err := tr.Next(); err != io.EOF {
		t.Fatalf("layer has a second entry %v (err %v)", next, err)
	}
	return hdr, b
}

// checkSBOM finds the SPDX artifact among the image's referrers and reads it.
func checkSBOM(t *testing.T, repo name.Repository, subject v1.Descriptor, arch string, want v1.Hash, opts []remote.Option) {
	t.Helper()
	refs, err := remote.Referrers(repo.Digest(subject.Digest.String()), opts...)
	if err != nil {
		t.Fatalf("listing referrers: %v", err)
	}
	rm, err := refs.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(rm.Manifests) != 1 || rm.Manifests[0].ArtifactType != SPDXMediaType || rm.Manifests[0].Digest != want {
		t.Fatalf("referrers = %+v, want one %s artifact %s", rm.Manifests, SPDXMediaType, want)
	}
	art, err := remote.Image(repo.Digest(want.String()), opts...)
	if err != nil {
		t.Fatal(err)
	}
	m, err := art.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject == nil || m.Subject.Digest != subject.Digest {
		t.Errorf("SBOM subject = %v, want %s", m.Subject, subject.Digest)
	}
	if len(m.Layers) != 1 || m.Layers[0].MediaType != SPDXMediaType {
		t.Fatalf("SBOM layers = %+v", m.Layers)
	}
	l, err := art.LayerByDigest(m.Layers[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var doc spdxDoc
	if err := json.NewDecoder(rc).Decode(&doc); err != nil {
		t.Fatalf("decoding SBOM: %v", err)
	}
	if doc.SPDXVersion != "SPDX-2.3" {
		t.Errorf("spdxVersion = %q", doc.SPDXVersion)
	}
	var found bool
	for _, p := range doc.Packages {
		if p.Name == "github.com/flinkferry/flinkferry" {
			found = true
		}
	}
	if !found {
		t.Errorf("SBOM packages %+v do not list the module github.com/flinkferry/flinkferry", doc.Packages)
	}
	if !strings.Contains(doc.Packages[0].Comment, "GOARCH="+arch) {
		t.Errorf("SBOM binary comment = %q, want GOARCH=%s", doc.Packages[0].Comment, arch)
	}
}

// TestWrongPassword: a refused login fails the push and neither the error
// nor the log carries the password.
func TestWrongPassword(t *testing.T) {
	reg := testenv.DockerRegistry(t)
	ctx := context.Background()
	base := pushBase(t, reg, []remote.Option{remote.WithAuth(&authn.Basic{Username: reg.Username, Password: reg.Password})})
	c := testConfig(reg, base.String())
	c.Password = "not-the-password-" + reg.Password
	var logs bytes.Buffer
	_, err := run(ctx, c, slog.New(slog.NewTextHandler(&logs, nil)), io.Discard)
	if err == nil {
		t.Fatal("run() with a wrong password succeeded")
	}
	if strings.Contains(err.Error(), c.Password) || strings.Contains(logs.String(), c.Password) {
		t.Errorf("the password leaked: %v", err)
	}
}

func TestValidate(t *testing.T) {
	ok := func() *Config {
		c := &Config{Repository: "ghcr.io/flinkferry/flinkferry", Tags: []string{"0.1.0"}, Version: "v1", Commit: "abc", Created: created}
		c.setDefaults()
		return c
	}
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"defaults", func(*Config) {}, ""},
		{"bad repository", func(c *Config) { c.Repository = "UPPER/Case" }, "repository"},
		{"bad tag", func(c *Config) { c.Tags = []string{"a:b"} }, "tag"},
		{"windows", func(c *Config) { c.Platforms = []v1.Platform{{OS: "windows", Architecture: "amd64"}} }, "only linux"},
		{"user without password", func(c *Config) { c.Username = "u" }, "go together"},
		{"no created", func(c *Config) { c.Created = time.Time{} }, "creation time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok()
			tc.change(c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error about %q", err, tc.want)
			}
		})
	}
}

func TestParseFlagsCredentialsFromEnv(t *testing.T) {
	env := map[string]string{"FLINKFERRY_IMAGE_USERNAME": "u", "FLINKFERRY_IMAGE_PASSWORD": "p", "FLINKFERRY_IMAGE_REPOSITORY": "r.example/ff"}
	c, err := parseFlags([]string{"-tag", "a,b", "-platforms", "linux/arm64"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Username != "u" || c.Password != "p" || c.Repository != "r.example/ff" || strings.Join(c.Tags, ",") != "a,b" || len(c.Platforms) != 1 {
		t.Errorf("parseFlags() = %+v", c)
	}
}
