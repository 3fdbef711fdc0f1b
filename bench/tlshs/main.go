// Command tlshs measures a TLS server's CPU per handshake: it runs n
// handshakes (c at a time, each on a new TCP connection, closed right
// after) and divides the growth of the server's CPU time (/proc/PID) by n.
// The cost includes accept, the connection's setup and close: what a
// server pays per handshake. The client's own CPU does not count, so the
// figure holds on a shared machine (handshakes/s would not).
//
//	bin/tlshs -addr 127.0.0.1:8443 -pid $(pidof condure) -n 2000 -curve x25519 -vers 13 [-resume]
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/condure-go/condure/bench/internal/proc"
)

var linger time.Duration

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "server TLS address")
	pid := flag.Int("pid", 0, "server pid")
	n := flag.Int("n", 2000, "handshakes")
	c := flag.Int("c", 4, "handshakes at a time")
	curve := flag.String("curve", "x25519", "key exchange: x25519, p256, x25519mlkem768")
	vers := flag.Int("vers", 13, "TLS version: 12 or 13")
	resume := flag.Bool("resume", false, "resume a session (ticket) on every handshake")
	sni := flag.String("sni", "localhost", "server name")
	flag.DurationVar(&linger, "linger", 0, "after each handshake, read this long before closing (with -resume and TLS 1.3: at least 20ms, for the ticket)")
	flag.Parse()
	if *pid == 0 {
		log.Fatal("-pid is required")
	}
	curves := map[string]tls.CurveID{"x25519": tls.X25519, "p256": tls.CurveP256, "x25519mlkem768": tls.X25519MLKEM768}
	cv, ok := curves[*curve]
	if !ok {
		log.Fatalf("unknown curve %q", *curve)
	}
	v := uint16(tls.VersionTLS13)
	if *vers == 12 {
		v = tls.VersionTLS12
	}
	cfg := &tls.Config{InsecureSkipVerify: true, ServerName: *sni, MinVersion: v, MaxVersion: v, CurvePreferences: []tls.CurveID{cv}}
	if *resume {
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(64)
		if _, err := handshake(*addr, cfg); err != nil { // the first ticket
			log.Fatal(err)
		}
	}
	before, err := proc.Take(*pid)
	if err != nil {
		log.Fatal(err)
	}
	var next, resumed, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range *c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(*n) {
				did, err := handshake(*addr, cfg)
				if err != nil {
					if failed.Add(1) == 1 {
						fmt.Fprintln(os.Stderr, "first failure:", err)
					}
					continue
				}
				if did {
					resumed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	after, err := proc.Take(*pid)
	if err != nil {
		log.Fatal(err)
	}
	done := int64(*n) - failed.Load()
	fmt.Printf("tls%d %s resume=%v: %d handshakes (%d resumed, %d failed) in %v: server CPU %.1f us per handshake\n",
		*vers, *curve, *resume, done, resumed.Load(), failed.Load(), wall.Round(time.Millisecond), (after.CPU-before.CPU)*1e6/float64(done))
}

// handshake dials, completes a handshake and closes; with a session cache
// it first waits briefly for a TLS 1.3 ticket (sent after the handshake).
func handshake(addr string, cfg *tls.Config) (resumed bool, err error) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	tc := tls.Client(conn, cfg)
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.Handshake(); err != nil {
		return false, err
	}
	wait := linger
	if cfg.ClientSessionCache != nil && cfg.MaxVersion == tls.VersionTLS13 {
		wait = max(wait, 20*time.Millisecond) // for the ticket
	}
	if wait > 0 {
		tc.SetReadDeadline(time.Now().Add(wait))
		tc.Read(make([]byte, 1)) // takes a ticket, then times out
	}
	return tc.ConnectionState().DidResume, nil
}
