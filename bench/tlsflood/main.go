// Command tlsflood holds a flood of TCP connections on a TLS port that never
// finish a handshake (idle ones, and ones that send one byte of a
// ClientHello and stall), renewing each as soon as the server closes it,
// while a real client does a TLS handshake and a GET every few hundred
// milliseconds. It prints the server's RSS before, at its peak during and
// after the flood (from /proc/PID/status), how many real clients got
// through, and how long their handshakes took.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/condure-go/condure/bench/internal/proc"
	"github.com/condure-go/condure/bench/internal/tlsget"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "server TLS address")
	idle := flag.Int("idle", 2048, "connections that send nothing")
	one := flag.Int("onebyte", 0, "connections that send one byte (0x16) and stall")
	hello := flag.Int("hello", 0, "connections that send a whole ClientHello and stall")
	pid := flag.Int("pid", 0, "server pid (for RSS)")
	dur := flag.Duration("dur", 25*time.Second, "how long the flood is held (renewed as the server closes connections)")
	every := flag.Duration("probe", 500*time.Millisecond, "interval between real clients")
	settle := flag.Duration("settle", 3*time.Second, "wait after the flood before the last RSS sample")
	flag.Parse()

	rss0 := proc.RSS(*pid)
	f := &flood{addr: *addr, stop: make(chan struct{})}
	start := time.Now()
	f.open(*idle, nil)
	f.open(*one, []byte{0x16})
	f.open(*hello, clientHello())
	f.opened.Wait()
	openedIn := time.Since(start)

	var peak atomic.Int64
	peak.Store(proc.RSS(*pid))
	sampling := make(chan struct{})
	go func() {
		defer close(sampling)
		for {
			select {
			case <-f.stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if r := proc.RSS(*pid); r > peak.Load() {
				peak.Store(r)
			}
		}
	}()

	var hs []time.Duration
	var fails []string
	for time.Since(start) < *dur {
		t0 := time.Now()
		d, err := probe(*addr)
		if err != nil {
			fails = append(fails, fmt.Sprintf("at %.1fs after %v: %v", t0.Sub(start).Seconds(), time.Since(t0).Round(time.Millisecond), err))
		} else {
			hs = append(hs, d)
		}
		time.Sleep(*every)
	}
	f.close()
	<-sampling
	closedByServer := f.closed.Load()
	time.Sleep(*settle)
	rss1 := proc.RSS(*pid)

	fmt.Printf("flood: %d idle + %d one-byte + %d ClientHello connections opened in %v, held %v; the server closed %d (first after %v)\n",
		*idle, *one, *hello, openedIn.Round(time.Millisecond), *dur, closedByServer, time.Duration(f.firstClose.Load()).Round(time.Millisecond))
	fmt.Printf("server RSS: before %d KiB, peak %d KiB, after %d KiB\n", rss0, peak.Load(), rss1)
	fmt.Printf("real clients: %d of %d got through", len(hs), len(hs)+len(fails))
	if len(hs) > 0 {
		sort.Slice(hs, func(i, j int) bool { return hs[i] < hs[j] })
		fmt.Printf("; handshake p50 %v, max %v", hs[len(hs)/2].Round(100*time.Microsecond), hs[len(hs)-1].Round(100*time.Microsecond))
	}
	fmt.Println()
	for i, s := range fails {
		if i == 3 {
			fmt.Printf("  ... %d more failures\n", len(fails)-3)
			break
		}
		fmt.Printf("  failed %s\n", s)
	}
}

// clientHello returns the first record a Go client sends.
func clientHello() []byte {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go tls.Client(a, &tls.Config{ServerName: "localhost", InsecureSkipVerify: true}).Handshake()
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(b, hdr); err != nil {
		log.Fatal(err)
	}
	body := make([]byte, int(hdr[3])<<8|int(hdr[4]))
	if _, err := io.ReadFull(b, body); err != nil {
		log.Fatal(err)
	}
	return append(hdr, body...)
}

// probe does a handshake and a GET; it returns the handshake time.
func probe(addr string) (time.Duration, error) {
	c, d, err := tlsget.Get(&net.Dialer{Timeout: 10 * time.Second}, addr,
		&tls.Config{InsecureSkipVerify: true, ServerName: "localhost"})
	if err == nil {
		c.Close()
	}
	return d, err
}

// flood keeps connections open, reopening each one the server closes.
type flood struct {
	addr       string
	stop       chan struct{}
	opened     sync.WaitGroup // the first round is open
	all        sync.WaitGroup
	closed     atomic.Int64 // connections the server closed
	firstClose atomic.Int64 // ns from open to the first server close
	mu         sync.Mutex
	conns      map[net.Conn]bool
}

var gate = make(chan struct{}, 64) // dials at a time: the backlog is 1024

func (f *flood) open(n int, pre []byte) {
	for i := 0; i < n; i++ {
		f.opened.Add(1)
		f.all.Add(1)
		go func() {
			defer f.all.Done()
			first := true
			for {
				gate <- struct{}{}
				c, err := net.DialTimeout("tcp", f.addr, 10*time.Second)
				if err == nil && len(pre) > 0 {
					_, err = c.Write(pre)
				}
				<-gate
				if first {
					f.opened.Done()
					first = false
				}
				if err != nil {
					select {
					case <-f.stop:
					default:
						log.Printf("flood dial: %v", err)
					}
					return
				}
				if !f.hold(c) {
					return
				}
			}
		}()
	}
}

// hold waits for the server to close c (true: renew) or the flood to stop.
func (f *flood) hold(c net.Conn) bool {
	f.mu.Lock()
	select {
	case <-f.stop:
		f.mu.Unlock()
		c.Close()
		return false
	default:
	}
	if f.conns == nil {
		f.conns = map[net.Conn]bool{}
	}
	f.conns[c] = true
	f.mu.Unlock()
	t0 := time.Now()
	io.Copy(io.Discard, c)
	c.Close()
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
	select {
	case <-f.stop:
		return false
	default:
	}
	f.closed.Add(1)
	f.firstClose.CompareAndSwap(0, int64(time.Since(t0)))
	return true
}

func (f *flood) close() {
	f.mu.Lock()
	close(f.stop)
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.all.Wait()
}
