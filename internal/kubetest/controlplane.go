package kubetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// DefaultStartTimeout bounds a control plane start when Options.StartTimeout
// is zero. A start takes 3-4 s on two idle cores; the margin is for busy CI
// machines and cold page caches.
const DefaultStartTimeout = 90 * time.Second

// Options configures a control plane.
type Options struct {
	// ControllerManager also starts kube-controller-manager with the
	// controllers listed in [ManagerControllers]: garbage collection,
	// Deployments -> ReplicaSets -> Pods (which stay Pending: there is no
	// scheduler or kubelet), ServiceAccounts and namespace deletion.
	ControllerManager bool

	// StartTimeout bounds the start; zero means DefaultStartTimeout.
	StartTimeout time.Duration

	// APIServerArgs are appended to kube-apiserver's command line, after
	// kubetest's own flags, so they can override them (the last value of a
	// flag wins), e.g. "--feature-gates=SomeGate=true".
	APIServerArgs []string
}

// ManagerControllers are the kube-controller-manager controllers that run
// when Options.ControllerManager is set.
var ManagerControllers = []string{
	"garbage-collector-controller",
	"deployment-controller",
	"replicaset-controller",
	"serviceaccount-controller",                // the "default" ServiceAccount of each namespace
	"serviceaccount-token-controller",          // tokens in kubernetes.io/service-account-token Secrets
	"root-ca-certificate-publisher-controller", // kube-root-ca.crt, mounted by every pod
	"namespace-controller",                     // without it deleted namespaces stay Terminating
}

// ServiceAccountIssuer is the issuer of the ServiceAccount tokens the
// apiserver mints; it is also their default audience.
const ServiceAccountIssuer = "https://kubernetes.default.svc.cluster.local"

// ServiceClusterIPRange is the apiserver's --service-cluster-ip-range: room
// for the fault suite's 500 jobs' REST Services (a /24 ran out at 254).
const ServiceClusterIPRange = "10.0.0.0/16"

// ControlPlane is a running etcd and kube-apiserver, and optionally
// kube-controller-manager. Its methods are safe for concurrent use.
type ControlPlane struct {
	dir               string
	pki               *pki
	host              string // https://127.0.0.1:<port>
	etcd, apiServer   *process
	controllerManager *process // nil unless Options.ControllerManager

	config         *rest.Config
	kubeconfig     []byte
	kubeconfigPath string
	clientset      *kubernetes.Clientset

	stopOnce sync.Once
	stopErr  error
}

// Start starts a control plane for t and stops it when t ends. Its files
// (certificates, logs, etcd data) live in t.TempDir(). It fails t, with the
// command that builds them, when the binaries are missing, and with the tail
// of the apiserver's log when the start fails. Process output is kept out of
// the test log unless t fails.
func Start(t testing.TB, opts Options) *ControlPlane {
	t.Helper()
	dir := t.TempDir()
	began := time.Now()
	cp, err := start(t.Context(), dir, opts)
	if err != nil {
		t.Fatalf("starting the control plane: %v", err)
	}
	t.Logf("kubetest: control plane at %s ready in %s", cp.host, time.Since(began).Round(10*time.Millisecond))
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(cp.logTails(30))
		}
		if err := cp.Stop(); err != nil {
			t.Errorf("stopping the control plane: %v", err)
		}
	})
	return cp
}

// Config returns a copy of the admin configuration: a client certificate in
// group system:masters, which RBAC lets do anything.
func (cp *ControlPlane) Config() *rest.Config { return rest.CopyConfig(cp.config) }

// Clientset returns a clientset for the admin configuration.
func (cp *ControlPlane) Clientset() *kubernetes.Clientset { return cp.clientset }

// Host returns the apiserver's URL, https://127.0.0.1:<port>.
func (cp *ControlPlane) Host() string { return cp.host }

// Kubeconfig returns an admin kubeconfig with the CA and client credentials
// embedded, for other processes or for code that loads kubeconfigs.
func (cp *ControlPlane) Kubeconfig() []byte { return append([]byte(nil), cp.kubeconfig...) }

// KubeconfigPath returns the path of the file holding Kubeconfig(); it lives
// as long as the control plane.
func (cp *ControlPlane) KubeconfigPath() string { return cp.kubeconfigPath }

// Dir returns the directory holding the control plane's certificates, logs
// (etcd.log, kube-apiserver.log, kube-controller-manager.log) and data.
func (cp *ControlPlane) Dir() string { return cp.dir }

// Stop stops kube-controller-manager, kube-apiserver and etcd, in that order,
// and waits for them to exit. It is idempotent; Start registers it with
// t.Cleanup. It reports a process that had exited on its own.
func (cp *ControlPlane) Stop() error {
	cp.stopOnce.Do(func() {
		cp.stopErr = stopAll(cp.controllerManager, cp.apiServer, cp.etcd)
	})
	return cp.stopErr
}

func (cp *ControlPlane) logTails(n int) string {
	var b strings.Builder
	for _, p := range []*process{cp.etcd, cp.apiServer, cp.controllerManager} {
		if p != nil {
			b.WriteString(p.logTail(n))
		}
	}
	return b.String()
}

// start starts a control plane with its files in dir. It retries with new
// ports when one it picked was taken before a process could bind it.
func start(ctx context.Context, dir string, opts Options) (*ControlPlane, error) {
	bins, err := findBinaries(opts)
	if err != nil {
		return nil, err
	}
	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = DefaultStartTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	p, err := newPKI(dir)
	if err != nil {
		return nil, err
	}
	const attempts = 3
	for attempt := 1; ; attempt++ {
		cp, err := startOnce(ctx, dir, attempt, bins, p, opts)
		if err == nil {
			return cp, nil
		}
		if !errors.Is(err, errPortTaken) || attempt == attempts {
			return nil, err
		}
	}
}

// errPortTaken marks a start that failed because a port was taken.
var errPortTaken = errors.New("a port was taken")

func startOnce(ctx context.Context, dir string, attempt int, bins binaries, p *pki, opts Options) (_ *ControlPlane, err error) {
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	etcdClient, etcdPeer, apiPort, managerPort := ports[0], ports[1], ports[2], ports[3]
	cp := &ControlPlane{
		dir:  dir,
		pki:  p,
		host: "https://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(apiPort)),
	}
	defer func() {
		if err == nil {
			return
		}
		for _, proc := range []*process{cp.etcd, cp.apiServer, cp.controllerManager} {
			if proc != nil && proc.exited() && proc.logContains("address already in use") {
				err = fmt.Errorf("%w: %w", errPortTaken, err)
				break
			}
		}
		_ = cp.Stop()
	}()

	etcdURL := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(etcdClient))
	peerURL := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(etcdPeer))
	cp.etcd, err = startProcess("etcd", bins.etcd, dir, []string{
		"--name=kubetest",
		"--data-dir=" + filepath.Join(dir, fmt.Sprintf("etcd-data-%d", attempt)),
		"--listen-client-urls=" + etcdURL,
		"--advertise-client-urls=" + etcdURL,
		"--listen-peer-urls=" + peerURL,
		"--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=kubetest=" + peerURL,
		"--unsafe-no-fsync=true", // the data is thrown away; fsync only slows tests
		"--log-level=warn",
	})
	if err != nil {
		return nil, err
	}

	// kube-apiserver waits for etcd itself, so both start at once.
	args := []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(apiPort),
		// Kubernetes 1.37 needs both: without an advertise address it picks
		// the default route's address (absent on some hosts), and it refuses
		// a loopback one unless the endpoint reconciler is off.
		"--advertise-address=127.0.0.1",
		"--endpoint-reconciler-type=none",
		"--service-cluster-ip-range=" + ServiceClusterIPRange,
		"--authorization-mode=Node,RBAC",
		"--client-ca-file=" + p.caFile,
		"--tls-cert-file=" + p.servingCert,
		"--tls-private-key-file=" + p.servingKey,
		"--cert-dir=" + filepath.Join(dir, "apiserver-certs"),
		"--service-account-issuer=" + ServiceAccountIssuer,
		"--service-account-key-file=" + p.saPubFile,
		"--service-account-signing-key-file=" + p.saKeyFile,
		"--allow-privileged=true",
		"--profiling=false",
	}
	cp.apiServer, err = startProcess("kube-apiserver", bins.apiServer, dir, append(args, opts.APIServerArgs...))
	if err != nil {
		return nil, err
	}

	cp.config = &rest.Config{
		Host:      cp.host,
		UserAgent: "kubetest",
		// Tests create objects in bursts; client-side throttling only slows them.
		QPS:   200,
		Burst: 400,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   p.caPEM,
			CertData: p.adminCert,
			KeyData:  p.adminKey,
		},
	}
	if err := waitHealthy(ctx, cp.config, cp.host+"/readyz", cp.etcd, cp.apiServer); err != nil {
		return nil, fmt.Errorf("kube-apiserver not ready: %w\n%s%s", err, cp.apiServer.logTail(40), cp.etcd.logTail(10))
	}
	if cp.clientset, err = kubernetes.NewForConfig(cp.config); err != nil {
		return nil, fmt.Errorf("creating the admin clientset: %w", err)
	}
	cp.kubeconfig = kubeconfig(cp.host, p.caPEM, "kubetest-admin", clientCert(p.adminCert, p.adminKey))
	cp.kubeconfigPath = filepath.Join(dir, "admin.kubeconfig")
	if err := os.WriteFile(cp.kubeconfigPath, cp.kubeconfig, 0o600); err != nil {
		return nil, fmt.Errorf("writing the admin kubeconfig: %w", err)
	}

	if opts.ControllerManager {
		if err := cp.startControllerManager(ctx, bins.controllerManager, managerPort); err != nil {
			return nil, err
		}
	}
	return cp, nil
}

// startControllerManager runs kube-controller-manager with its own
// kubeconfig (a separate process reading a kubeconfig file, as users do) and
// waits for its /healthz.
func (cp *ControlPlane) startControllerManager(ctx context.Context, bin string, port int) error {
	path := filepath.Join(cp.dir, "controller-manager.kubeconfig")
	kc := kubeconfig(cp.host, cp.pki.caPEM, "system:kube-controller-manager", clientCert(cp.pki.managerCert, cp.pki.managerKey))
	if err := os.WriteFile(path, kc, 0o600); err != nil {
		return fmt.Errorf("writing the controller-manager kubeconfig: %w", err)
	}
	var err error
	cp.controllerManager, err = startProcess("kube-controller-manager", bin, cp.dir, []string{
		"--kubeconfig=" + path,
		"--authentication-kubeconfig=" + path,
		"--authorization-kubeconfig=" + path,
		// Trust the test CA directly instead of reading it, and the front
		// proxy CA the apiserver does not have, from a kube-system ConfigMap
		// (that lookup logs an error every few seconds).
		"--authentication-skip-lookup=true",
		"--client-ca-file=" + cp.pki.caFile,
		"--controllers=" + strings.Join(ManagerControllers, ","),
		"--leader-elect=false",
		"--use-service-account-credentials=false",
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		// The apiserver's serving certificate is for 127.0.0.1 too, so the
		// health check can verify it against the test CA.
		"--tls-cert-file=" + cp.pki.servingCert,
		"--tls-private-key-file=" + cp.pki.servingKey,
		"--service-account-private-key-file=" + cp.pki.saKeyFile,
		"--root-ca-file=" + cp.pki.caFile,
		"--kube-api-qps=200",
		"--kube-api-burst=400",
		"--profiling=false",
	})
	if err != nil {
		return err
	}
	url := "https://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) + "/healthz"
	if err := waitHealthy(ctx, cp.config, url, cp.controllerManager, cp.apiServer, cp.etcd); err != nil {
		return fmt.Errorf("kube-controller-manager not healthy: %w\n%s", err, cp.controllerManager.logTail(40))
	}
	return nil
}

// waitHealthy polls url with cfg's TLS settings until it answers 200 OK. It
// gives up when ctx ends or when one of procs exits.
func waitHealthy(ctx context.Context, cfg *rest.Config, url string, procs ...*process) error {
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return fmt.Errorf("creating an HTTP client: %w", err)
	}
	client.Timeout = 5 * time.Second
	defer client.CloseIdleConnections()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		for _, p := range procs {
			if p.exited() {
				return fmt.Errorf("%s exited: %v", p.name, p.waitErr)
			}
		}
		last = probe(ctx, client, url)
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (last answer: %v)", url, context.Cause(ctx), last)
		case <-tick.C:
		}
	}
}

func probe(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// freePorts returns n distinct loopback ports that were free a moment ago.
// All listeners stay open until every port is picked, so they differ.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
