package oci

import (
	"os"
	"sync"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/google/go-containerregistry/pkg/authn"
)

// DockerConfigKeychain returns a keychain that reads credentials from one
// docker config.json file, loaded once on first use. A registry the file
// has no credentials for is anonymous; an unreadable file is an error on
// every lookup.
func DockerConfigKeychain(path string) authn.Keychain {
	return &fileKeychain{path: path}
}

type fileKeychain struct {
	path string
	once sync.Once
	cf   *configfile.ConfigFile
	err  error
}

// Resolve implements authn.Keychain.
func (k *fileKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	k.once.Do(func() {
		f, err := os.Open(k.path)
		if err != nil {
			k.err = err
			return
		}
		defer f.Close()
		k.cf, k.err = config.LoadFromReader(f)
	})
	if k.err != nil {
		return nil, k.err
	}
	key := target.RegistryStr()
	if key == "index.docker.io" {
		key = "https://index.docker.io/v1/"
	}
	ac, err := k.cf.GetAuthConfig(key)
	if err != nil {
		return nil, err
	}
	if ac.Username == "" && ac.Password == "" && ac.IdentityToken == "" && ac.RegistryToken == "" {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(authn.AuthConfig{
		Username: ac.Username, Password: ac.Password, Auth: ac.Auth,
		IdentityToken: ac.IdentityToken, RegistryToken: ac.RegistryToken,
	}), nil
}
