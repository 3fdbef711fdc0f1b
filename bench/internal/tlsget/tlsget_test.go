package tlsget

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestGet(t *testing.T) {
	hosts := make(chan string, 2)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hosts <- r.Host
		w.Write([]byte("hello"))
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "https://")
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, hs, err := Get(d, addr, &tls.Config{InsecureSkipVerify: true, ServerName: "example.com"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if host := <-hosts; hs <= 0 || host != "example.com" || !c.ConnectionState().HandshakeComplete {
		t.Fatalf("handshake %v, host %q", hs, host)
	}
	// The connection is kept alive: a second request on it is answered.
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 1)); n != 1 {
		t.Fatalf("second response: %d, %v", n, err)
	}
}

func TestGetServerClosesAfterHandshake(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _, _ := w.(http.Hijacker).Hijack()
		c.Close()
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "https://")
	c, hs, err := Get(&net.Dialer{Timeout: 5 * time.Second}, addr, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"})
	if err == nil || c != nil || hs <= 0 || !strings.Contains(err.Error(), "after the handshake") {
		t.Fatalf("Get = %v, %v, %v; want an error after a timed handshake", c, hs, err)
	}
}
