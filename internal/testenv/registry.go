package testenv

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"golang.org/x/crypto/bcrypt"
)

// Registry is an OCI registry reachable over plain HTTP on loopback.
type Registry struct {
	// Host is host:port, the registry part of image references.
	Host string
	// Username and Password are the basic-auth credentials ("" when open).
	Username, Password string
}

// DockerRegistry starts Debian's docker-registry (distribution 2.8) with
// htpasswd bcrypt authentication (cost 4) and filesystem storage in a
// temporary directory, for the duration of the test.
func DockerRegistry(t testing.TB) Registry {
	t.Helper()
	bin := LookPath(t, "docker-registry")
	dir := t.TempDir()
	user, pass := "flinkferry", "s3cret-"+strings.ReplaceAll(t.Name(), "/", "-")
	hash, err := bcrypt.GenerateFromPassword([]byte(pass), 4)
	if err != nil {
		t.Fatalf("hashing registry password: %v", err)
	}
	htpasswd := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(htpasswd, []byte(user+":"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port := FreePort(t)
	host := fmt.Sprintf("127.0.0.1:%d", port)
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
auth:
  htpasswd:
    realm: flinkferry-test
    path: %s
`, filepath.Join(dir, "data"), host, htpasswd)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := startProcess(bin, "serve", cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	if err := p.waitTCP(host, 15*time.Second); err != nil {
		t.Fatalf("starting docker-registry: %v", err)
	}
	// Ready when /v2/ asks for credentials.
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker-registry on %s never answered 401 on /v2/ (err %v): %s", host, err, p.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return Registry{Host: host, Username: user, Password: pass}
}

// InProcessRegistry starts go-containerregistry's in-memory registry (no
// authentication) for fast unit tests.
func InProcessRegistry(t testing.TB) Registry {
	t.Helper()
	s := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(s.Close)
	return Registry{Host: strings.TrimPrefix(s.URL, "http://")}
}
