// Command tlshold opens N TLS connections, makes one keep-alive request on
// each and holds them idle, printing the server's RSS growth per connection
// (from /proc/PID/status), to measure what an idle TLS connection costs.
package main

import (
	"bufio"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "server TLS address")
	n := flag.Int("n", 5000, "connections")
	pid := flag.Int("pid", 0, "server pid (for RSS)")
	sni := flag.String("sni", "localhost", "server name")
	idle := flag.Duration("idle", 5*time.Second, "settle time before the RSS sample")
	flag.Parse()
	rss0 := rssKiB(*pid)
	cfg := &tls.Config{InsecureSkipVerify: true, ServerName: *sni}
	conns := make([]net.Conn, 0, *n)
	start := time.Now()
	for i := 0; i < *n; i++ {
		src := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%59))}
		d := &net.Dialer{LocalAddr: src, Timeout: 10 * time.Second}
		c, err := tls.DialWithDialer(d, "tcp", *addr, cfg)
		if err != nil {
			log.Fatalf("conn %d: %v", i, err)
		}
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			log.Fatalf("conn %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		conns = append(conns, c)
	}
	opened := time.Since(start)
	time.Sleep(*idle)
	rss1 := rssKiB(*pid)
	fmt.Printf("tls idle conns %d opened in %v; server RSS %d -> %d KiB: %.0f bytes per idle TLS connection\n",
		len(conns), opened.Round(time.Millisecond), rss0, rss1, float64(rss1-rss0)*1024/float64(len(conns)))
}

func rssKiB(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			v, _ := strconv.Atoi(strings.Fields(line)[1])
			return v
		}
	}
	return 0
}
