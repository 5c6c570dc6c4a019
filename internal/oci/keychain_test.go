package oci_test

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/flinkferry/flinkferry/internal/oci"
)

func TestDockerConfigKeychain(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.json")
	auth := base64.StdEncoding.EncodeToString([]byte("robot:s3cret"))
	if err := os.WriteFile(cfg, fmt.Appendf(nil, `{"auths":{"registry.example.com:5000":{"auth":%q}}}`, auth), 0o600); err != nil {
		t.Fatal(err)
	}
	kc := oci.DockerConfigKeychain(cfg)
	for _, tt := range []struct {
		repo string
		want authn.AuthConfig
	}{
		{"registry.example.com:5000/flinkferry/job", authn.AuthConfig{Username: "robot", Password: "s3cret"}},
		{"other.example.com/flinkferry/job", authn.AuthConfig{}},
	} {
		repo, err := name.NewRepository(tt.repo)
		if err != nil {
			t.Fatal(err)
		}
		a, err := kc.Resolve(repo)
		if err != nil {
			t.Fatal(err)
		}
		got, err := authn.Authorization(t.Context(), a)
		if err != nil {
			t.Fatal(err)
		}
		if got.Username != tt.want.Username || got.Password != tt.want.Password {
			t.Errorf("Resolve(%s) = %s/%s, want %s/%s", tt.repo, got.Username, got.Password, tt.want.Username, tt.want.Password)
		}
	}
	repo, _ := name.NewRepository("registry.example.com:5000/x")
	if _, err := oci.DockerConfigKeychain(filepath.Join(dir, "missing.json")).Resolve(repo); err == nil {
		t.Error("a missing config file resolved")
	}
}
