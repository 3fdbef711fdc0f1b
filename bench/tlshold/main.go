// Command tlshold opens N TLS connections, makes one keep-alive request on
// each and holds them idle, printing the server's RSS growth per connection
// (from /proc/PID/status), to measure what an idle TLS connection costs.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/condure-go/condure/bench/internal/proc"
	"github.com/condure-go/condure/bench/internal/tlsget"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "server TLS address")
	n := flag.Int("n", 5000, "connections")
	pid := flag.Int("pid", 0, "server pid (for RSS)")
	sni := flag.String("sni", "localhost", "server name")
	idle := flag.Duration("idle", 5*time.Second, "settle time before the RSS sample")
	ws := flag.Bool("ws", false, "open WebSocket sessions (wss) instead of one GET each")
	flag.Parse()
	rss0 := proc.RSS(*pid)
	cfg := &tls.Config{InsecureSkipVerify: true, ServerName: *sni}
	conns := make([]net.Conn, 0, *n)
	start := time.Now()
	for i := 0; i < *n; i++ {
		src := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%59))}
		d := &net.Dialer{LocalAddr: src, Timeout: 10 * time.Second}
		get := tlsget.Get
		if *ws {
			get = tlsget.Upgrade
		}
		c, _, err := get(d, *addr, cfg)
		if err != nil {
			log.Fatalf("conn %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	opened := time.Since(start)
	time.Sleep(*idle)
	rss1 := proc.RSS(*pid)
	kind := "TLS"
	if *ws {
		kind = "wss"
	}
	fmt.Printf("%s idle conns %d opened in %v; server RSS %d -> %d KiB: %.0f bytes per idle %s connection\n",
		kind, len(conns), opened.Round(time.Millisecond), rss0, rss1, float64(rss1-rss0)*1024/float64(len(conns)), kind)
}
