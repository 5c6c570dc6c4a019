package kubetest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// KubernetesVersion is the version of kube-apiserver and
// kube-controller-manager that hack/k8s-testbin/build.sh builds; it names the
// default cache directory. It must match hack/k8s-testbin/go.mod (a test
// checks).
const KubernetesVersion = "v1.37.2"

// BinDirEnv names the environment variable that overrides the directory
// holding kube-apiserver, etcd and kube-controller-manager.
const BinDirEnv = "FLINKFERRY_K8S_BIN"

// BuildCommand is the command, run from the repository root, that builds the
// binaries into the default directory (or into $FLINKFERRY_K8S_BIN).
const BuildCommand = "bash hack/k8s-testbin/build.sh"

// BinDir returns the directory the control plane binaries are taken from:
// $FLINKFERRY_K8S_BIN when set, else
// $HOME/.cache/flinkferry/k8s-testbin/<KubernetesVersion>, as in build.sh.
func BinDir() (string, error) {
	if dir := os.Getenv(BinDirEnv); dir != "" {
		return dir, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the control plane binaries: %w (or set %s)", err, BinDirEnv)
	}
	return filepath.Join(home, ".cache", "flinkferry", "k8s-testbin", KubernetesVersion), nil
}

// binaries holds the paths of the programs a control plane runs.
type binaries struct {
	etcd, apiServer, controllerManager string
}

// findBinaries locates the programs that opts needs. Its error says how to
// build them.
func findBinaries(opts Options) (binaries, error) {
	dir, err := BinDir()
	if err != nil {
		return binaries{}, err
	}
	b := binaries{
		etcd:      filepath.Join(dir, "etcd"),
		apiServer: filepath.Join(dir, "kube-apiserver"),
	}
	need := []string{b.etcd, b.apiServer}
	if opts.ControllerManager {
		b.controllerManager = filepath.Join(dir, "kube-controller-manager")
		need = append(need, b.controllerManager)
	}
	var missing []error
	for _, p := range need {
		fi, err := os.Stat(p)
		switch {
		case err != nil:
			missing = append(missing, err)
		case fi.IsDir() || fi.Mode().Perm()&0o111 == 0:
			missing = append(missing, fmt.Errorf("%s is not an executable file", p))
		}
	}
	if len(missing) > 0 {
		return binaries{}, fmt.Errorf("kubetest: control plane binaries missing from %s; build them from the repository root with:\n\t%s%s\n%w",
			dir, BuildCommand, envHint(), errors.Join(missing...))
	}
	return b, nil
}

func envHint() string {
	if dir := os.Getenv(BinDirEnv); dir != "" {
		return fmt.Sprintf("\n(%s=%s is set; build.sh builds into it too)", BinDirEnv, dir)
	}
	return ""
}
