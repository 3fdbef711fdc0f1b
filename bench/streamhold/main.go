// Command streamhold opens N HTTP connections whose responses are streamed
// and never end (run the handler with hellohandler -stream), reads the
// start of each response and holds them open, to measure what idle
// streamed sessions cost the server (keep-alives, CPU, memory).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"net"
	"strconv"
	"strings"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8000", "server address")
	n := flag.Int("n", 1000, "connections")
	hold := flag.Duration("d", 60*time.Second, "hold time once all are open")
	sources := flag.String("sources", "127.0.0.2-127.0.0.60", "source address range")
	flag.Parse()
	srcs, err := parseRange(*sources)
	if err != nil {
		log.Fatal(err)
	}
	conns := make([]net.Conn, 0, *n)
	start := time.Now()
	for i := 0; i < *n; i++ {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: srcs[i%len(srcs)]}, Timeout: 10 * time.Second}
		c, err := d.Dial("tcp", *addr)
		if err != nil {
			log.Fatalf("conn %d: %v", i, err)
		}
		fmt.Fprintf(c, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		line, err := bufio.NewReaderSize(c, 256).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "HTTP/1.1 200") {
			log.Fatalf("conn %d: %q %v", i, line, err)
		}
		conns = append(conns, c)
	}
	fmt.Printf("open %d streamed responses in %v; holding %v\n", len(conns), time.Since(start).Round(time.Millisecond), *hold)
	time.Sleep(*hold)
	fmt.Println("done")
}

// parseRange reads "127.0.0.A-127.0.0.B" (or one address).
func parseRange(s string) ([]net.IP, error) {
	lo, hi, _ := strings.Cut(s, "-")
	if hi == "" {
		hi = lo
	}
	a, b := net.ParseIP(lo).To4(), net.ParseIP(hi).To4()
	if a == nil || b == nil || a[0] != 127 || a[1] != b[1] || a[2] != b[2] || a[3] > b[3] {
		return nil, fmt.Errorf("bad source range %q (want 127.x.y.A-127.x.y.B)", s)
	}
	var out []net.IP
	for i := int(a[3]); i <= int(b[3]); i++ {
		out = append(out, net.ParseIP(fmt.Sprintf("%d.%d.%d.%s", a[0], a[1], a[2], strconv.Itoa(i))))
	}
	return out, nil
}
