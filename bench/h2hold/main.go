// Command h2hold measures a server's memory per idle connection after one
// request, over HTTP/2 (h2c prior knowledge) or HTTP/1.1 keep-alive, the
// way bench/loadgen's hold mode does for HTTP/1: RSS before any connection,
// short-lived openings that pay the server's one-time costs, a warm-up of
// connections held open, then each step; per-connection figures are the
// anonymous RSS above the warm-up divided by the connections above it
// (and, for reference, total RSS over the baseline divided by N).
//
//	h2hold -addr 127.0.0.1:PORT -pid PID -n 1000,10000 [-proto h2|http1] [-warm 256] [-sources 127.0.0.2-127.0.0.40]
//
// Each connection sends one GET / and reads the whole answer, then stays
// open without traffic (the server's idle limit is 60 s: a run must finish
// its steps within it, which at 10k connections it does). Client memory is
// not measured: every connection has its own goroutine.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8000", "server address")
	pid := flag.Int("pid", 0, "server process id (RSS from /proc)")
	ns := flag.String("n", "1000,10000", "connections at each step (increasing)")
	proto := flag.String("proto", "h2", "h2 (prior knowledge) or http1")
	warm := flag.Int("warm", 256, "connections held before the first step")
	openings := flag.Int("openings", 1024, "short-lived connections (one request each) before the warm-up")
	sources := flag.String("sources", "127.0.0.2-127.0.0.40", "client source addresses A-B (last byte range)")
	settle := flag.Duration("settle", 2*time.Second, "pause before each sample")
	inflight := flag.Int("inflight", 64, "connections opening at once")
	flag.Parse()
	if *pid == 0 {
		fmt.Fprintln(os.Stderr, "-pid is required")
		os.Exit(2)
	}
	var steps []int
	for _, s := range strings.Split(*ns, ",") {
		n, err := strconv.Atoi(s)
		if err != nil || n <= *warm {
			fmt.Fprintf(os.Stderr, "bad step %q (must be a number above -warm)\n", s)
			os.Exit(2)
		}
		steps = append(steps, n)
	}
	srcs, err := parseSources(*sources)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	h := &holder{addr: *addr, h2: *proto == "h2", srcs: srcs, sem: make(chan struct{}, *inflight)}
	base := rss(*pid)
	if err := h.open(*openings, false); err != nil {
		fmt.Fprintln(os.Stderr, "openings:", err)
		os.Exit(1)
	}
	if err := h.open(*warm, true); err != nil {
		fmt.Fprintln(os.Stderr, "warm-up:", err)
		os.Exit(1)
	}
	time.Sleep(*settle)
	w := rss(*pid)
	fmt.Printf("proto=%s baseline rss=%d KiB anon=%d KiB; warm-up %d conns: rss=%d KiB anon=%d KiB\n",
		*proto, base.rss, base.anon, *warm, w.rss, w.anon)
	held := *warm
	for _, n := range steps {
		t0 := time.Now()
		if err := h.open(n-held, true); err != nil {
			fmt.Fprintf(os.Stderr, "step %d: %v\n", n, err)
			os.Exit(1)
		}
		took := time.Since(t0)
		held = n
		time.Sleep(*settle)
		m := rss(*pid)
		if c := h.closed.Load(); c > 0 {
			fmt.Fprintf(os.Stderr, "step %d: the server closed %d held connections\n", n, c)
			os.Exit(1)
		}
		fmt.Printf("proto=%s N=%d rss=%d KiB anon=%d KiB bytes/conn=%.0f anon-bytes/conn-above-warm-up=%.0f (opened in %.1fs)\n",
			*proto, n, m.rss, m.anon, float64(m.rss-base.rss)*1024/float64(n),
			float64(m.anon-w.anon)*1024/float64(n-*warm), took.Seconds())
	}
}

type mem struct{ rss, anon int64 } // KiB

func rss(pid int) mem {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var m mem
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			m.rss = v
		case "RssAnon:":
			m.anon = v
		}
	}
	return m
}

func parseSources(s string) ([]net.IP, error) {
	a, b, ok := strings.Cut(s, "-")
	ia, ib := net.ParseIP(a).To4(), net.ParseIP(b).To4()
	if !ok || ia == nil || ib == nil || !bytes.Equal(ia[:3], ib[:3]) || ia[3] > ib[3] {
		return nil, fmt.Errorf("-sources %q: want A-B in one /24", s)
	}
	var out []net.IP
	for i := ia[3]; ; i++ {
		out = append(out, net.IPv4(ia[0], ia[1], ia[2], i))
		if i == ib[3] {
			break
		}
	}
	return out, nil
}

type holder struct {
	addr   string
	h2     bool
	srcs   []net.IP
	next   atomic.Int64
	sem    chan struct{}
	closed atomic.Int64 // held connections the server closed
}

// open makes n connections, each with one request answered; held ones
// stay open, others are closed at once.
func (h *holder) open(n int, hold bool) error {
	var wg sync.WaitGroup
	var first error
	var mu sync.Mutex
	for range n {
		h.sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := h.one()
			<-h.sem
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
				return
			}
			if !hold {
				c.Close()
				return
			}
			go func() { // wait for the server to close (it must not)
				io.Copy(io.Discard, c)
				h.closed.Add(1)
			}()
		}()
	}
	wg.Wait()
	return first
}

// one connects and does one exchange; the connection is returned idle.
func (h *holder) one() (net.Conn, error) {
	src := h.srcs[int(h.next.Add(1))%len(h.srcs)]
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", h.addr)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if h.h2 {
		err = h2Exchange(c, h.addr)
	} else {
		err = h1Exchange(c, h.addr)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

func h1Exchange(c net.Conn, addr string) error {
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: "+addr+"\r\n\r\n"); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// h2Exchange sends the preface, empty SETTINGS and GET / on stream 1,
// acknowledges the server's SETTINGS and reads until stream 1 ends.
func h2Exchange(c net.Conn, addr string) error {
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", addr}, {":path", "/"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	bw := bufio.NewWriter(c)
	fr := http2.NewFramer(bw, c)
	bw.WriteString(http2.ClientPreface)
	fr.WriteSettings()
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true, EndStream: true})
	if err := bw.Flush(); err != nil {
		return err
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return err
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
				if err := bw.Flush(); err != nil {
					return err
				}
			}
		case *http2.GoAwayFrame:
			return fmt.Errorf("GOAWAY %v", f.ErrCode)
		case *http2.RSTStreamFrame:
			return fmt.Errorf("RST_STREAM %v", f.ErrCode)
		}
		if f.Header().StreamID == 1 && f.Header().Flags.Has(http2.FlagDataEndStream) {
			return nil
		}
	}
}
