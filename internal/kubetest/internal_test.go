package kubetest

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestVersionMatchesBuildModule keeps KubernetesVersion, which names the
// default binary directory, equal to the version build.sh builds.
func TestVersionMatchesBuildModule(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "..", "hack", "k8s-testbin", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) >= 2 && fields[0] == "k8s.io/kubernetes" {
			got = fields[1]
		}
	}
	if got != KubernetesVersion {
		t.Errorf("hack/k8s-testbin/go.mod requires k8s.io/kubernetes %q, KubernetesVersion = %q", got, KubernetesVersion)
	}
}

func TestMissingBinariesNameTheBuildCommand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(BinDirEnv, dir)
	_, err := findBinaries(Options{ControllerManager: true})
	if err == nil {
		t.Fatal("findBinaries in an empty directory succeeded")
	}
	for _, want := range []string{"bash hack/k8s-testbin/build.sh", filepath.Join(dir, "kube-apiserver"), filepath.Join(dir, "etcd"), filepath.Join(dir, "kube-controller-manager")} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// TestStopLeavesNoProcess starts a full control plane, stops it, and checks
// every process is gone.
func TestStopLeavesNoProcess(t *testing.T) {
	cp := Start(t, Options{ControllerManager: true})
	procs := []*process{cp.etcd, cp.apiServer, cp.controllerManager}
	began := time.Now()
	if err := cp.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("stopped in %s", time.Since(began).Round(time.Millisecond))
	for _, p := range procs {
		if err := syscall.Kill(p.cmd.Process.Pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s (pid %d) after Stop: kill(0) = %v, want ESRCH", p.name, p.cmd.Process.Pid, err)
		}
	}
	if err := cp.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}
