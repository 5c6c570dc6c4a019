package build

import (
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/flinkferry/flinkferry/internal/oci"
)

// dockerConfigKeychain reads credentials from one docker config.json file
// (shared with the submit worker, see oci.DockerConfigKeychain).
func dockerConfigKeychain(path string) authn.Keychain { return oci.DockerConfigKeychain(path) }
