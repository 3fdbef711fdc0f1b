// Package tlsget is the real client of the TLS load tools: a verified-or-not
// handshake and one keep-alive GET.
package tlsget

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Get dials addr with d, does the TLS handshake with cfg, sends GET / and
// reads the whole response. It returns the open connection (the caller
// closes it) and how long the dial and handshake took. The exchange is
// bounded by d.Timeout after the handshake.
func Get(d *net.Dialer, addr string, cfg *tls.Config) (*tls.Conn, time.Duration, error) {
	t0 := time.Now()
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return nil, 0, err
	}
	hs := time.Since(t0)
	c.SetDeadline(time.Now().Add(d.Timeout))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", cfg.ServerName)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
	}
	if err != nil {
		c.Close()
		return nil, hs, fmt.Errorf("after the handshake: %w", err)
	}
	c.SetDeadline(time.Time{})
	return c, hs, nil
}

// Upgrade is Get with a WebSocket upgrade instead of a GET: it returns the
// connection once the 101 response head has been read.
func Upgrade(d *net.Dialer, addr string, cfg *tls.Config) (*tls.Conn, time.Duration, error) {
	t0 := time.Now()
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return nil, 0, err
	}
	hs := time.Since(t0)
	c.SetDeadline(time.Now().Add(d.Timeout))
	fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", cfg.ServerName)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err == nil && resp.StatusCode != http.StatusSwitchingProtocols {
		err = fmt.Errorf("status %d, want 101", resp.StatusCode)
	}
	if err != nil {
		c.Close()
		return nil, hs, fmt.Errorf("after the handshake: %w", err)
	}
	c.SetDeadline(time.Time{})
	return c, hs, nil
}
