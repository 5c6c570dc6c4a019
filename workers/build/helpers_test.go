package build

import (
	"bytes"
	"context"
	"crypto/sha1"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/flinkferry/flinkferry/internal/admission"
	"github.com/flinkferry/flinkferry/internal/testenv"
)

// artifactServer serves jars and counts requests per path. Paths:
// /<name>.jar the jar, /missing.jar 404, /notajar.jar text, /flaky.jar 503
// twice then the jar, /forbidden.jar 403, /redirect.jar a redirect to evil.example.
type artifactServer struct {
	*httptest.Server
	jar  []byte
	mu   sync.Mutex
	hits map[string]int
}

func newArtifactServer(t *testing.T, jar []byte) *artifactServer {
	a := &artifactServer{jar: jar, hits: map[string]int{}}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.hits[r.URL.Path]++
		n := a.hits[r.URL.Path]
		a.mu.Unlock()
		switch r.URL.Path {
		case "/missing.jar":
			http.NotFound(w, r)
		case "/forbidden.jar":
			http.Error(w, "no", http.StatusForbidden)
		case "/notajar.jar":
			w.Write([]byte("this is not a zip file"))
		case "/redirect.jar":
			http.Redirect(w, r, "http://evil.example/x.jar", http.StatusFound)
		case "/flaky.jar":
			if n <= 2 {
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
			w.Write(a.jar)
		default:
			if strings.HasSuffix(r.URL.Path, ".jar.sha1") {
				sum := sha1.Sum(a.jar)
				if strings.Contains(r.URL.Path, "/tampered/") {
					sum = [20]byte{}
				}
				fmt.Fprintf(w, "%x  %s\n", sum, path.Base(strings.TrimSuffix(r.URL.Path, ".sha1")))
				return
			}
			if strings.HasSuffix(r.URL.Path, ".jar") {
				w.Write(a.jar)
				return
			}
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *artifactServer) host() string { return strings.TrimPrefix(a.URL, "http://") }

func (a *artifactServer) count(path string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.hits[path]
}

func regOpts(reg testenv.Registry) []remote.Option {
	if reg.Username == "" {
		return nil
	}
	return []remote.Option{remote.WithAuth(&authn.Basic{Username: reg.Username, Password: reg.Password})}
}

// pushBase pushes a random 3-layer image (Docker media types, like the
// official flink images' per-platform manifests) and returns it.
func pushBase(t testing.TB, reg testenv.Registry, repo string) (string, v1.Image) {
	t.Helper()
	img, err := random.Image(200_000, 3)
	if err != nil {
		t.Fatal(err)
	}
	ref := reg.Host + "/" + repo
	if err := remote.Write(mustRef(t, ref), img, regOpts(reg)...); err != nil {
		t.Fatalf("pushing base: %v", err)
	}
	return ref, img
}

// pushBaseIndex pushes a two-platform OCI index of random images.
func pushBaseIndex(t testing.TB, reg testenv.Registry, repo string) (string, v1.ImageIndex) {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(100_000, 2)
		if err != nil {
			t.Fatal(err)
		}
		img = mutate.MediaType(img, types.OCIManifestSchema1)
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
		cf, _ := img.ConfigFile()
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = "linux", arch
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: "linux", Architecture: arch},
		}})
	}
	ref := reg.Host + "/" + repo
	if err := remote.WriteIndex(mustRef(t, ref), idx, regOpts(reg)...); err != nil {
		t.Fatalf("pushing base index: %v", err)
	}
	return ref, idx
}

// newTestBuilder returns a builder pushing to reg under namespace "jobs".
func newTestBuilder(reg testenv.Registry, allowed ...string) *Builder {
	var auth authn.Authenticator
	if reg.Username != "" {
		auth = &authn.Basic{Username: reg.Username, Password: reg.Password}
	}
	return &Builder{
		Fetcher:  &Fetcher{AllowedHosts: allowed, MaxBytes: 64 << 20, Dir: ""},
		Registry: &Registry{Host: reg.Host, Namespace: "jobs", Auth: auth, Insecure: true},
		Encoding: EncodingGzipStored,
		Metrics:  NewMetrics(nil),
	}
}

var bg = context.Background()

func headers(hs []kgo.RecordHeader) map[string]string {
	m := map[string]string{}
	for _, h := range hs {
		m[h.Key] = string(h.Value)
	}
	return m
}

func mustRef(t testing.TB, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// staticCopy materializes a jar layer in memory (tests only) so it can be
// read more than once.
func staticCopy(t testing.TB, jarPath string, size int64) v1.Layer {
	t.Helper()
	l, err := newJarLayer(jarPath, "wordcount.jar", size, EncodingGzipStored, types.DockerLayer)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	sl, err := tarball.LayerFromReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return sl
}

func digestHex(t testing.TB, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.Hex
}

func readFull(r io.Reader, b []byte) (int, error) { return io.ReadFull(r, b) }

// allowAll admits every request in any namespace, as any service account,
// at Pod Security level privileged.
func allowAll(t *testing.T) *admission.Admitter {
	t.Helper()
	a, err := admission.New(admission.Policy{Cluster: "default", Default: true,
		AllowedNamespaces: []string{"*"}, AllowedServiceAccounts: []string{"*"}, PodSecurity: admission.Privileged})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mustRepo(t testing.TB, s string) name.Repository {
	t.Helper()
	r, err := name.NewRepository(s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
