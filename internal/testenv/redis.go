package testenv

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RedisServer is one database of a redis-server shared by a test package.
type RedisServer struct {
	// Addr is host:port.
	Addr string
	// DB is the database number reserved for the calling test.
	DB int
}

// URL returns a redis:// URL selecting the test's database.
func (r RedisServer) URL() string { return fmt.Sprintf("redis://%s/%d", r.Addr, r.DB) }

const redisDatabases = 4096

var shared struct {
	once   sync.Once
	mu     sync.Mutex
	redis  *RedisProcess
	err    error
	nextDB int
}

// Redis returns a database of the package's redis-server, started on a free
// port at the first call (no persistence). Each call gets its own database
// number, so tests do not see each other's keys.
func Redis(t testing.TB) RedisServer {
	t.Helper()
	bin := LookPath(t, "redis-server")
	shared.once.Do(func() { shared.err = startRedis(bin) })
	if shared.err != nil {
		t.Fatalf("starting redis-server: %v", shared.err)
	}
	shared.mu.Lock()
	defer shared.mu.Unlock()
	db := shared.nextDB % redisDatabases
	shared.nextDB++
	return RedisServer{Addr: shared.redis.Addr, DB: db}
}

func startRedis(bin string) error {
	r, err := startRedisProcess(bin)
	if err != nil {
		return err
	}
	shared.redis = r
	return nil
}

// RedisProcess is a redis-server started by StartRedis or by Redis.
type RedisProcess struct {
	// Addr is host:port on 127.0.0.1.
	Addr string
	p    *process
	dir  string
	args []string // of redis-server, for Restart
}

// StartRedis starts a redis-server from PATH on a free loopback port
// without persistence, outside a test (benchmark programs). It dies with
// the calling process; Stop ends it earlier and removes its directory.
func StartRedis() (*RedisProcess, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server is not installed: run `%s`", installHint["redis-server"])
	}
	return startRedisProcess(bin)
}

// Stop kills the server and removes its directory.
func (r *RedisProcess) Stop() {
	r.p.stop()
	os.RemoveAll(r.dir)
}

// Kill SIGKILLs the server (no shutdown save); Restart starts it again.
func (r *RedisProcess) Kill() {
	_ = syscall.Kill(-r.p.cmd.Process.Pid, syscall.SIGKILL)
	<-r.p.done
}

// Restart kills the server if it runs and starts a new, empty one (there
// is no persistence) on the same port: Redis lost and brought back.
func (r *RedisProcess) Restart() error {
	r.Kill()
	var err error
	for range 50 { // the port may linger a moment
		var p *process
		if p, err = startProcess(r.p.cmd.Path, r.args...); err != nil {
			return err
		}
		if err = waitRedis(p, r.Addr); err == nil {
			r.p = p
			return nil
		}
		p.stop()
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("restarting redis-server on %s: %w", r.Addr, err)
}

func startRedisProcess(bin string, extra ...string) (*RedisProcess, error) {
	dir, err := os.MkdirTemp("", "flinkferry-redis-")
	if err != nil {
		return nil, err
	}
	var lastErr error
	for range 5 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		args := []string{"--bind", "127.0.0.1", "--port", itoa(port), "--save", "", "--appendonly", "no",
			"--dir", dir, "--databases", itoa(redisDatabases), "--protected-mode", "no", "--loglevel", "warning"}
		p, err := startProcess(bin, append(args, extra...)...)
		if err != nil {
			return nil, err
		}
		if lastErr = waitRedis(p, addr); lastErr == nil {
			return &RedisProcess{Addr: addr, p: p, dir: dir, args: append(args, extra...)}, nil
		}
		p.stop()
	}
	os.RemoveAll(dir)
	return nil, lastErr
}

// waitRedis waits until the server answers PING.
func waitRedis(p *process, addr string) error {
	if err := p.waitTCP(addr, 10*time.Second); err != nil {
		return err
	}
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("redis answered %q to PING", line)
	}
	return nil
}

// Main runs the package's tests, then stops the shared peers. Call it from
// TestMain: func TestMain(m *testing.M) { testenv.Main(m) }.
func Main(m *testing.M) { MainFunc(m.Run) }

// MainFunc is Main around run, which runs the tests and returns the exit
// code, e.g. kubetest.Run when a package also uses the Kubernetes peer:
//
//	func TestMain(m *testing.M) {
//		testenv.MainFunc(func() int { return kubetest.Run(m, kubetest.Options{}) })
//	}
func MainFunc(run func() int) {
	code := run()
	if shared.redis != nil {
		shared.redis.Stop()
	}
	os.Exit(code)
}
