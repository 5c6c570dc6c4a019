package testenv

import (
	"net"
	"sync"
	"testing"
)

// TCPProxy forwards a loopback port to a peer and can cut the path the two
// ways a network fails: Partition black-holes the bytes (connections stay
// open, nothing arrives: clients time out), Down closes every connection
// and refuses new ones (the peer looks stopped). Heal restores it.
type TCPProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	mode  proxyMode
	conns []net.Conn
}

type proxyMode int

const (
	proxyOK proxyMode = iota
	proxyPartitioned
	proxyDown
)

// NewTCPProxy starts a proxy to target (host:port) for the test.
func NewTCPProxy(t testing.TB, target string) *TCPProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &TCPProxy{ln: ln, target: target}
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// Addr is the proxy's host:port, to give clients instead of the target's.
func (p *TCPProxy) Addr() string { return p.ln.Addr().String() }

// Partition black-holes every byte both ways until Heal.
func (p *TCPProxy) Partition() { p.set(proxyPartitioned) }

// Down closes every connection and refuses new ones until Heal.
func (p *TCPProxy) Down() { p.set(proxyDown) }

// Heal ends a partition or an outage. Connections that lost bytes in a
// partition are closed, so clients dial fresh ones.
func (p *TCPProxy) Heal() { p.set(proxyOK) }

func (p *TCPProxy) set(m proxyMode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	prev := p.mode
	p.mode = m
	if m == proxyDown || (m == proxyOK && prev == proxyPartitioned) {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}

func (p *TCPProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.mode == proxyDown
		p.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go p.pipe(up, c)
		go p.pipe(c, up)
	}
}

// pipe copies src to dst, dropping what it reads while partitioned.
func (p *TCPProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		p.mu.Lock()
		partitioned := p.mode == proxyPartitioned
		p.mu.Unlock()
		if partitioned {
			continue
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
	}
}

func (p *TCPProxy) close() {
	p.ln.Close()
	p.set(proxyDown)
}
