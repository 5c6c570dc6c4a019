package build

import (
	"archive/tar"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/internal/oci"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
)

func TestBuildOnDockerRegistryMovesOnlyTheJar(t *testing.T) {
	reg := testenv.DockerRegistry(t)
	jarPath, jar := writeJar(t, t.TempDir(), 1<<20)
	_ = jarPath
	arts := newArtifactServer(t, jar)
	baseRef, base := pushBase(t, reg, "library/flink:1.20")
	b := newTestBuilder(reg, arts.host())
	req := Request{Repo: "wordcount", Job: "/flink/wordcount", Base: baseRef, JarURL: arts.URL + "/wordcount.jar"}

	res, err := b.Build(bg, req)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if res.CacheHit {
		t.Fatal("first build reported a cache hit")
	}
	// Only the jar layer, the config and nothing of the base went up.
	jarLayerMax := int64(len(jar)) + 64<<10
	if res.UploadedBytes < int64(len(jar)) || res.UploadedBytes > jarLayerMax {
		t.Errorf("uploaded %d bytes, want the jar layer only (%d..%d)", res.UploadedBytes, len(jar), jarLayerMax)
	}

	// The pushed image: the base's layers plus one layer holding the jar.
	ref := mustRef(t, res.Image)
	img, err := remote.Image(ref, regOpts(reg)...)
	if err != nil {
		t.Fatal(err)
	}
	baseLayers, _ := base.Layers()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(layers), len(baseLayers)+1; got != want {
		t.Fatalf("layers = %d, want %d", got, want)
	}
	for i, bl := range baseLayers {
		bd, _ := bl.Digest()
		d, _ := layers[i].Digest()
		if bd != d {
			t.Errorf("layer %d = %s, want base layer %s", i, d, bd)
		}
	}
	mt, _ := layers[len(layers)-1].MediaType()
	if mt != types.DockerLayer {
		t.Errorf("jar layer media type = %s, want %s (matching the Docker base)", mt, types.DockerLayer)
	}
	assertJarInLayer(t, layers[len(layers)-1], jar)
	cf, _ := img.ConfigFile()
	if cf.Config.Labels[LabelJarSHA256] != res.JarSHA256 || cf.Config.Labels[AnnotationBaseDigest] != res.BaseDigest {
		t.Errorf("labels = %v", cf.Config.Labels)
	}

	// Redelivery: the same request costs zero uploads and gives the same image.
	again, err := b.Build(bg, req)
	if err != nil {
		t.Fatal(err)
	}
	if !again.CacheHit || again.UploadedBytes != 0 || again.Image != res.Image {
		t.Errorf("redelivery: cache hit %v, uploaded %d, image %s; want true, 0, %s", again.CacheHit, again.UploadedBytes, again.Image, res.Image)
	}
}

func assertJarInLayer(t *testing.T, l interface {
	Uncompressed() (io.ReadCloser, error)
}, jar []byte) {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	found := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name != "opt/flink/usrlib/wordcount.jar" {
			continue
		}
		found = true
		b, _ := io.ReadAll(tr)
		if !bytes.Equal(b, jar) {
			t.Error("jar in the image differs from the artifact")
		}
		if h.Uid != 9999 || h.Gid != 9999 || h.Mode != 0o644 {
			t.Errorf("jar owner %d:%d mode %o, want 9999:9999 644", h.Uid, h.Gid, h.Mode)
		}
	}
	if !found {
		t.Error("opt/flink/usrlib/wordcount.jar not in the last layer")
	}
}

func TestBuildIsReproducible(t *testing.T) {
	_, jar := writeJar(t, t.TempDir(), 100_000)
	arts := newArtifactServer(t, jar)
	reg := testenv.InProcessRegistry(t)
	baseRef, _ := pushBase(t, reg, "library/flink:1.20")
	var digests []string
	// Two namespaces: the second build cannot reuse the first's tag.
	for _, ns := range []string{"team-a", "team-b"} {
		b := newTestBuilder(reg, arts.host())
		b.Registry.Namespace = ns
		res, err := b.Build(bg, Request{Repo: "wordcount", Job: "/flink/wordcount", Base: baseRef, JarURL: arts.URL + "/wordcount.jar"})
		if err != nil {
			t.Fatal(err)
		}
		if res.CacheHit {
			t.Fatal("unexpected cache hit")
		}
		digests = append(digests, res.Image[len(res.Image)-71:])
	}
	if digests[0] != digests[1] {
		t.Errorf("same inputs, different digests: %v", digests)
	}
}

func TestBuildMultiArchBase(t *testing.T) {
	reg := testenv.InProcessRegistry(t)
	_, jar := writeJar(t, t.TempDir(), 50_000)
	arts := newArtifactServer(t, jar)
	baseRef, _ := pushBaseIndex(t, reg, "library/flink:1.20")
	res, err := newTestBuilder(reg, arts.host()).Build(bg, Request{
		Repo: "wordcount", Job: "/flink/wordcount", Base: baseRef, JarURL: arts.URL + "/wordcount.jar",
	})
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(mustRef(t, res.Image))
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	if got, want := len(im.Manifests), 2; got != want {
		t.Fatalf("platforms = %d, want %d", got, want)
	}
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		layers, _ := img.Layers()
		if got, want := len(layers), 3; got != want {
			t.Errorf("%s: layers = %d, want %d", d.Platform, got, want)
		}
		mt, _ := layers[len(layers)-1].MediaType()
		if mt != types.OCILayer {
			t.Errorf("%s: jar layer media type %s, want %s on an OCI base", d.Platform, mt, types.OCILayer)
		}
		assertJarInLayer(t, layers[len(layers)-1], jar)
	}
}

func TestBuildPermanentFailures(t *testing.T) {
	reg := testenv.DockerRegistry(t)
	_, jar := writeJar(t, t.TempDir(), 10_000)
	arts := newArtifactServer(t, jar)
	baseRef, _ := pushBase(t, reg, "library/flink:1.20")
	good := Request{Repo: "job", Job: "/flink/job", Base: baseRef, JarURL: arts.URL + "/job.jar"}
	tests := []struct {
		name   string
		mod    func(r *Request, b *Builder)
		reason string
		path   string // artifact path that must be fetched exactly once
	}{
		{"artifact 404", func(r *Request, _ *Builder) { r.JarURL = arts.URL + "/missing.jar" }, messages.BuildReasonArtifactNotFound, "/missing.jar"},
		{"artifact 403", func(r *Request, _ *Builder) { r.JarURL = arts.URL + "/forbidden.jar" }, messages.BuildReasonArtifactForbidden, "/forbidden.jar"},
		{"not a jar", func(r *Request, _ *Builder) { r.JarURL = arts.URL + "/notajar.jar" }, messages.BuildReasonNotAJar, "/notajar.jar"},
		{"checksum mismatch", func(r *Request, _ *Builder) {
			r.JarURL = arts.URL + "/sum.jar"
			r.JarSHA256 = "0000000000000000000000000000000000000000000000000000000000000000"
		}, messages.BuildReasonChecksumMismatch, "/sum.jar"},
		{"host not allowed", func(r *Request, _ *Builder) { r.JarURL = "http://evil.example/x.jar" }, messages.BuildReasonArtifactHostNotAllowed, ""},
		{"redirect to a host not allowed", func(r *Request, _ *Builder) { r.JarURL = arts.URL + "/redirect.jar" }, messages.BuildReasonArtifactHostNotAllowed, "/redirect.jar"},
		{"too large", func(r *Request, b *Builder) { r.JarURL = arts.URL + "/large.jar"; b.Fetcher.MaxBytes = 1000 }, messages.BuildReasonArtifactTooLarge, "/large.jar"},
		{"bad base reference", func(r *Request, _ *Builder) { r.Base = "UPPER CASE::bad" }, messages.BuildReasonBadBaseImage, ""},
		{"base not found", func(r *Request, _ *Builder) { r.Base = reg.Host + "/library/flink:0.1" }, messages.BuildReasonBadBaseImage, ""},
		{"wrong registry password", func(_ *Request, b *Builder) {
			b.Registry.Auth = nil
			reg2 := reg
			reg2.Password = "wrong"
			b.Registry = newTestBuilder(reg2).Registry
		}, messages.BuildReasonRegistryAuthRefused, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTestBuilder(reg, arts.host())
			req := good
			tt.mod(&req, b)
			_, err := b.Build(bg, req)
			if err == nil {
				t.Fatal("Build succeeded, want a permanent error")
			}
			if !failure.IsPermanent(err) {
				t.Fatalf("error %v is not permanent", err)
			}
			if got := failure.Reason(err); got != tt.reason {
				t.Errorf("reason = %q, want %q (%v)", got, tt.reason, err)
			}
			if tt.path != "" && arts.count(tt.path) != 1 {
				t.Errorf("%s fetched %d times, want 1", tt.path, arts.count(tt.path))
			}
			if bytes.Contains([]byte(err.Error()), []byte(reg.Password)) {
				t.Errorf("error leaks the registry password: %v", err)
			}
		})
	}
}

func TestBuildRetriesTransientArtifactErrors(t *testing.T) {
	reg := testenv.InProcessRegistry(t)
	_, jar := writeJar(t, t.TempDir(), 10_000)
	arts := newArtifactServer(t, jar)
	baseRef, _ := pushBase(t, reg, "library/flink:1.20")
	b := newTestBuilder(reg, arts.host())
	req := Request{Repo: "job", Job: "/flink/job", Base: baseRef, JarURL: arts.URL + "/flaky.jar"}
	for i := range 2 {
		_, err := b.Build(bg, req)
		if err == nil || failure.IsPermanent(err) {
			t.Fatalf("attempt %d: err = %v, want a transient error", i+1, err)
		}
	}
	if _, err := b.Build(bg, req); err != nil {
		t.Fatalf("third attempt: %v", err)
	}
}

func TestBaseFromAnotherRegistryIsCopiedOnce(t *testing.T) {
	upstream, reg := testenv.InProcessRegistry(t), testenv.DockerRegistry(t)
	_, jar := writeJar(t, t.TempDir(), 20_000)
	arts := newArtifactServer(t, jar)
	baseRef, base := pushBase(t, upstream, "library/flink:1.20")
	baseSize := imageSize(base)
	b := newTestBuilder(reg, arts.host())
	b.MirrorBase = true

	var uploads []int64
	for _, job := range []string{"first", "second"} {
		res, err := b.Build(bg, Request{Repo: job, Job: "/flink/" + job, Base: baseRef, JarURL: arts.URL + "/" + job + ".jar"})
		if err != nil {
			t.Fatal(err)
		}
		uploads = append(uploads, res.UploadedBytes)
		if !strings.Contains(res.Image, reg.Host+"/jobs/"+job+"@sha256:") {
			t.Errorf("image %s not in the target registry", res.Image)
		}
	}
	// The first build's uploads do not count the mirror copy (a separate
	// push); what matters is that neither job repository received the base.
	for i, n := range uploads {
		if n > int64(len(jar))+64<<10 {
			t.Errorf("build %d uploaded %d bytes, want about the jar (%d); base is %d bytes", i+1, n, len(jar), baseSize)
		}
	}
	mirror := mustRef(t, reg.Host+"/jobs/"+MirrorRepo+"/library/flink:sha256-"+digestHex(t, base))
	if _, err := remote.Head(mirror, regOpts(reg)...); err != nil {
		t.Errorf("mirror %s missing: %v", mirror, err)
	}
}

func TestBaseCredentialsFromDockerConfig(t *testing.T) {
	private, target := testenv.DockerRegistry(t), testenv.InProcessRegistry(t)
	_, jar := writeJar(t, t.TempDir(), 10_000)
	arts := newArtifactServer(t, jar)
	baseRef, _ := pushBase(t, private, "library/flink:1.20")
	cfg := filepath.Join(t.TempDir(), "config.json")
	auth := base64.StdEncoding.EncodeToString([]byte(private.Username + ":" + private.Password))
	if err := os.WriteFile(cfg, fmt.Appendf(nil, `{"auths":{%q:{"auth":%q}}}`, private.Host, auth), 0o600); err != nil {
		t.Fatal(err)
	}
	b := newTestBuilder(target, arts.host())
	b.MirrorBase = true
	req := Request{Repo: "job", Job: "/flink/job", Base: baseRef, JarURL: arts.URL + "/job.jar"}

	b.Registry.Keychain = oci.DockerConfigKeychain(filepath.Join(t.TempDir(), "missing.json"))
	if _, err := b.Build(bg, req); err == nil {
		t.Fatal("pulled a private base without credentials")
	}
	b.Registry.Keychain = oci.DockerConfigKeychain(cfg)
	if _, err := b.Build(bg, req); err != nil {
		t.Fatalf("with docker config credentials: %v", err)
	}
}

func TestBuildPlatformSubset(t *testing.T) {
	reg := testenv.InProcessRegistry(t)
	_, jar := writeJar(t, t.TempDir(), 10_000)
	arts := newArtifactServer(t, jar)
	baseRef, _ := pushBaseIndex(t, reg, "library/flink:1.20")
	b := newTestBuilder(reg, arts.host())
	b.Platforms = []v1.Platform{{OS: "linux", Architecture: "arm64"}}
	res, err := b.Build(bg, Request{Repo: "job", Job: "/flink/job", Base: baseRef, JarURL: arts.URL + "/job.jar"})
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(mustRef(t, res.Image))
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	if len(im.Manifests) != 1 || im.Manifests[0].Platform.Architecture != "arm64" {
		t.Errorf("manifests = %+v, want linux/arm64 only", im.Manifests)
	}
	b.Platforms = []v1.Platform{{OS: "windows", Architecture: "amd64"}}
	if _, err := b.Build(bg, Request{Repo: "job", Job: "/flink/job", Base: baseRef, JarURL: arts.URL + "/job.jar"}); !failure.IsPermanent(err) {
		t.Errorf("no matching platform: err = %v, want a permanent error", err)
	}
}
