package alerttest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/testenv"
)

// ToolPath is a peer built by hack/peers.sh into ~/.cache/flinkferry/tools.
func ToolPath(t testing.TB, name string) string {
	t.Helper()
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(home, ".cache", "flinkferry", "tools", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("test peer %s is not built: run `bash hack/peers.sh` (%v)", name, err)
	}
	return p
}

// Buffer collects a peer's output.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns what was written.
func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// StartPeer runs bin with args until the test ends and waits until addr
// accepts connections. It dies with the test binary.
func StartPeer(t testing.TB, addr, bin string, args ...string) *Buffer {
	t.Helper()
	out := &Buffer{}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-done:
			t.Fatalf("%s exited early: %s", filepath.Base(bin), out)
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on %s: %s", filepath.Base(bin), addr, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// StartAlertmanager runs the Alertmanager built by hack/peers.sh on a free
// port, routing every alert to webhookURL (resolved notices included) at
// once, and returns its base URL.
func StartAlertmanager(t testing.TB, webhookURL string) string {
	t.Helper()
	bin := ToolPath(t, "alertmanager")
	dir := t.TempDir()
	cfg := fmt.Sprintf(`route:
  receiver: hook
  group_by: [alertname, job_key]
  group_wait: 100ms
  group_interval: 500ms
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: %q
        send_resolved: true
`, webhookURL)
	path := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	StartPeer(t, addr, bin, "--config.file="+path, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=", "--log.level=warn")
	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("alertmanager on %s never became ready (%v)", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Alert is what GET /api/v2/alerts returns for one alert.
type Alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
	Status       struct {
		State string `json:"state"`
	} `json:"status"`
}

// Alerts lists the Alertmanager's current (not resolved) alerts.
func Alerts(t testing.TB, base string) []Alert {
	t.Helper()
	resp, err := http.Get(base + "/api/v2/alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []Alert
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("decoding /api/v2/alerts: %v", err)
	}
	return out
}

// Mailpit is a running Mailpit: SMTP with STARTTLS required and a user,
// and its HTTP API to read messages back.
type Mailpit struct {
	SMTPAddr string
	API      string
	// CAFile is the PEM of the server's self-signed certificate.
	CAFile             string
	Username, Password string
	Log                *Buffer
}

// StartMailpit runs the Mailpit built by hack/peers.sh on free ports with
// a self-signed certificate for 127.0.0.1, STARTTLS required and one user.
func StartMailpit(t testing.TB) *Mailpit {
	t.Helper()
	bin := ToolPath(t, "mailpit")
	dir := t.TempDir()
	certPEM, keyPEM := SelfSignedCert(t)
	m := &Mailpit{CAFile: filepath.Join(dir, "cert.pem"), Username: "alerts", Password: "smtp-s3cret-" + fmt.Sprint(time.Now().UnixNano())}
	keyFile, authFile := filepath.Join(dir, "key.pem"), filepath.Join(dir, "auth")
	for f, b := range map[string][]byte{m.CAFile: certPEM, keyFile: keyPEM, authFile: []byte(m.Username + ":" + m.Password + "\n")} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	m.SMTPAddr = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	m.API = "http://" + httpAddr
	m.Log = StartPeer(t, m.SMTPAddr, bin, "--smtp", m.SMTPAddr, "--listen", httpAddr, "--database", filepath.Join(dir, "mail.db"),
		"--smtp-tls-cert", m.CAFile, "--smtp-tls-key", keyFile, "--smtp-require-starttls", "--smtp-auth-file", authFile,
		"--smtp-disable-rdns", "--disable-version-check", "--quiet")
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", httpAddr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailpit API on %s: %v", httpAddr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Message is a message as Mailpit's API shows it.
type Message struct {
	ID      string `json:"ID"`
	Subject string `json:"Subject"`
	From    struct {
		Address string `json:"Address"`
	} `json:"From"`
	To []struct {
		Address string `json:"Address"`
	} `json:"To"`
	Text string `json:"Text"`
	HTML string `json:"HTML"`
}

// Messages returns every message Mailpit holds, oldest first, with bodies.
func (m *Mailpit) Messages(t testing.TB) []Message {
	t.Helper()
	var list struct {
		Messages []Message `json:"messages"`
	}
	getJSON(t, m.API+"/api/v1/messages", &list)
	out := make([]Message, 0, len(list.Messages))
	for i := len(list.Messages) - 1; i >= 0; i-- { // newest first in the list
		var full Message
		getJSON(t, m.API+"/api/v1/message/"+list.Messages[i].ID, &full)
		out = append(out, full)
	}
	return out
}

// WaitMessages waits until Mailpit holds n messages.
func (m *Mailpit) WaitMessages(t testing.TB, n int) []Message {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := m.Messages(t)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailpit has %d messages, want %d; log: %s", len(got), n, m.Log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func getJSON(t testing.TB, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// SelfSignedCert is a PEM certificate and key for 127.0.0.1, valid an hour.
func SelfSignedCert(t testing.TB) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "flinkferry test SMTP"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}
