package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// useSimResolver makes every name under simHost resolve to one of the
// simulator's loopback addresses (simIP) in this process, through Go's own resolver talking DNS to an in-process
// answerer. The measured HTTP clients stay unchanged (their own dialers
// and connection pools), yet every JobManager is a distinct host, as in a
// fleet where each JobManager is its own Service. Other names fail.
func useSimResolver() {
	net.DefaultResolver.PreferGo = true
	net.DefaultResolver.Dial = func(ctx context.Context, network, address string) (net.Conn, error) {
		return &dnsConn{}, nil
	}
}

// dnsConn is a stream (TCP-framed) DNS connection answered in memory: each
// length-prefixed query written is answered by a length-prefixed reply
// waiting to be read.
type dnsConn struct {
	in, out bytes.Buffer
}

func (c *dnsConn) Write(p []byte) (int, error) {
	c.in.Write(p)
	for c.in.Len() >= 2 {
		n := int(binary.BigEndian.Uint16(c.in.Bytes()))
		if c.in.Len() < 2+n {
			break
		}
		q := make([]byte, 2+n)
		_, _ = c.in.Read(q)
		reply, err := answer(q[2:])
		if err != nil {
			return 0, err
		}
		c.out.Write(binary.BigEndian.AppendUint16(nil, uint16(len(reply))))
		c.out.Write(reply)
	}
	return len(p), nil
}

func (c *dnsConn) Read(p []byte) (int, error) {
	if c.out.Len() == 0 {
		return 0, io.EOF
	}
	return c.out.Read(p)
}

func (c *dnsConn) Close() error                     { return nil }
func (c *dnsConn) LocalAddr() net.Addr              { return dnsAddr{} }
func (c *dnsConn) RemoteAddr() net.Addr             { return dnsAddr{} }
func (c *dnsConn) SetDeadline(time.Time) error      { return nil }
func (c *dnsConn) SetReadDeadline(time.Time) error  { return nil }
func (c *dnsConn) SetWriteDeadline(time.Time) error { return nil }

type dnsAddr struct{}

func (dnsAddr) Network() string { return "tcp" }
func (dnsAddr) String() string  { return "trackbench-dns" }

// answer builds the reply to one DNS query: for JobManager i's name under
// simHost an A record of simIP(i), no address of other types; NXDOMAIN
// for other names.
func answer(query []byte) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, fmt.Errorf("parsing DNS query: %w", err)
	}
	q, err := p.Question()
	if err != nil {
		return nil, fmt.Errorf("parsing DNS query: %w", err)
	}
	name := strings.ToLower(strings.TrimSuffix(q.Name.String(), "."))
	ours := strings.HasSuffix(name, "."+simHost)
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired}
	if !ours {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	if ours && q.Type == dnsmessage.TypeA {
		rr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 3600}
		i, _ := strconv.Atoi(strings.TrimPrefix(strings.TrimSuffix(name, "."+simHost), "jm"))
		if err := b.AResource(rr, dnsmessage.AResource{A: simIP(i)}); err != nil {
			return nil, err
		}
	}
	msg, err := b.Finish()
	if err != nil {
		return nil, errors.Join(errors.New("building DNS answer"), err)
	}
	return msg, nil
}
