// Command wsdeflatewire measures permessage-deflate on the wire against a
// server (--compression) in front of bench/echohandler (issue #15).
//
//	wsdeflatewire ratio -addr 127.0.0.1:8000 -n 2000
//
// sends a mix of realistic JSON messages (chat lines, order updates,
// presence, a feed page) uncompressed, reads the echoes compressed by the
// server and prints the compressed payload bytes over the uncompressed ones
// (each echo is checked by inflating the whole stream, which works with or
// without context takeover).
//
//	wsdeflatewire bomb -addr 127.0.0.1:8000 -pid PID -mb 1
//
// sends one compressed message of -mb MB that inflates to 1024 times as much
// (zeros), reads what comes back (a close code, or the echo) for at most
// -timeout, while a second connection echoes a small message every 100 ms;
// it prints the server's peak RSS (VmRSS sampled every 20 ms), the bomb's
// fate and the bystander's slowest echo.
package main

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

const offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"

func main() {
	if len(os.Args) < 2 {
		log.Fatal("usage: wsdeflatewire ratio|bomb [flags]")
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:8000", "server address")
	n := fs.Int("n", 2000, "ratio: messages")
	pid := fs.Int("pid", 0, "bomb: server pid (RSS)")
	mb := fs.Int("mb", 1, "bomb: compressed size in MB (inflates 1024 times)")
	timeout := fs.Duration("timeout", 60*time.Second, "bomb: give up reading after this long")
	fs.Parse(os.Args[2:])
	var err error
	switch os.Args[1] {
	case "ratio":
		err = ratio(*addr, *n)
	case "bomb":
		err = bomb(*addr, *pid, *mb, *timeout)
	default:
		err = errors.New("ratio or bomb")
	}
	if err != nil {
		log.Fatal(err)
	}
}

type wsConn struct {
	c   net.Conn
	r   *bufio.Reader
	ext string
}

func dial(addr string) (*wsConn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n%s\r\n", addr, offer)
	w := &wsConn{c: c, r: bufio.NewReaderSize(c, 64<<10)}
	line, err := w.r.ReadString('\n')
	if err != nil || !strings.Contains(line, " 101 ") {
		return nil, fmt.Errorf("handshake: %q %v", line, err)
	}
	for {
		l, err := w.r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		if l == "\r\n" {
			break
		}
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, "Sec-WebSocket-Extensions") {
			w.ext = strings.TrimSpace(v)
		}
	}
	if w.ext == "" {
		return nil, errors.New("no permessage-deflate in the answer")
	}
	return w, nil
}

// send writes one masked frame (mask 0: the payload goes as it is).
func (w *wsConn) send(b0 byte, p []byte) error {
	h := []byte{b0, 0x80}
	switch {
	case len(p) < 126:
		h[1] |= byte(len(p))
	case len(p) < 65536:
		h[1] |= 126
		h = binary.BigEndian.AppendUint16(h, uint16(len(p)))
	default:
		h[1] |= 127
		h = binary.BigEndian.AppendUint64(h, uint64(len(p)))
	}
	h = append(h, 0, 0, 0, 0)
	_, err := w.c.Write(append(h, p...))
	return err
}

// frame reads one frame: its first byte and payload (into buf when it fits,
// or discarded and counted when discard is set).
func (w *wsConn) frame(buf []byte, discard bool) (b0 byte, p []byte, n int64, err error) {
	var h [2]byte
	if _, err = io.ReadFull(w.r, h[:]); err != nil {
		return
	}
	b0, n = h[0], int64(h[1]&0x7f)
	switch n {
	case 126:
		var x [2]byte
		_, err = io.ReadFull(w.r, x[:])
		n = int64(binary.BigEndian.Uint16(x[:]))
	case 127:
		var x [8]byte
		_, err = io.ReadFull(w.r, x[:])
		n = int64(binary.BigEndian.Uint64(x[:]))
	}
	if err != nil {
		return
	}
	if discard && n > 125 {
		_, err = io.CopyN(io.Discard, w.r, n)
		return
	}
	p = append(buf[:0], make([]byte, n)...)
	_, err = io.ReadFull(w.r, p)
	return
}

// messages is the mix for ratio: shapes applications send, values varying.
func messages(n int) [][]byte {
	ms := make([][]byte, n)
	users := []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"}
	words := strings.Fields("the build is green again after the flaky test was fixed can someone review my pull request before lunch deploy to staging looks good ship it thanks")
	for i := range ms {
		u := users[i*7%len(users)]
		switch i % 4 {
		case 0: // chat line
			var t []string
			for k := 0; k < 5+i%11; k++ {
				t = append(t, words[(i*31+k*17)%len(words)])
			}
			ms[i] = []byte(fmt.Sprintf(`{"type":"message","room":"eng-%d","id":"%08x","user":{"name":%q,"avatar":"https://cdn.example.com/u/%s.png"},"text":%q,"ts":"2026-12-04T19:%02d:%02d.%03dZ"}`,
				i%5, i*2654435761, u, u, strings.Join(t, " "), i/60%60, i%60, i*37%1000))
		case 1: // order update
			var b strings.Builder
			fmt.Fprintf(&b, `{"type":"order.updated","order_id":%d,"customer":%q,"items":[`, 500000+i*13, u)
			for k := 0; k < 1+i%6; k++ {
				if k > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `{"sku":"SKU-%05d","name":"Widget %d","qty":%d,"unit_price":%d.%02d}`, (i*k*7919)%100000, k+i%9, 1+k%4, 5+(i*k)%90, (i+k)%100)
			}
			fmt.Fprintf(&b, `],"status":"%s","total":%d.%02d}`, []string{"pending", "paid", "shipped", "delivered"}[i%4], 20+i%500, i%100)
			ms[i] = []byte(b.String())
		case 2: // presence
			ms[i] = []byte(fmt.Sprintf(`{"type":"presence","user":%q,"status":"%s","last_seen":%d}`, u, []string{"online", "away", "offline"}[i%3], 1796000000+i))
		case 3: // feed page
			var b strings.Builder
			fmt.Fprintf(&b, `{"type":"feed","page":%d,"entries":[`, i/4)
			for k := 0; k < 20; k++ {
				if k > 0 {
					b.WriteByte(',')
				}
				v := users[(i+k)%len(users)]
				fmt.Fprintf(&b, `{"id":%d,"author":%q,"title":"%s %s %s","likes":%d,"comments":%d,"url":"https://example.com/posts/%d"}`,
					i*100+k, v, words[(i+k)%len(words)], words[(i*3+k)%len(words)], words[(i*5+k*2)%len(words)], (i*k)%977, (i+k)%31, i*100+k)
			}
			b.WriteString(`]}`)
			ms[i] = []byte(b.String())
		}
	}
	return ms
}

func ratio(addr string, n int) error {
	w, err := dial(addr)
	if err != nil {
		return err
	}
	ms := messages(n)
	var raw, wire, frames, plain int64
	var stream, want []byte
	var buf []byte
	for _, m := range ms {
		if err := w.send(0x81, m); err != nil {
			return err
		}
		b0, p, _, err := w.frame(buf, false)
		if err != nil {
			return err
		}
		if b0&0x0f != 1 || b0&0x80 == 0 {
			return fmt.Errorf("unexpected frame %x (fragmented echo?)", b0)
		}
		buf = p
		raw += int64(len(m))
		wire += int64(len(p))
		frames++
		if b0&0x40 == 0 {
			plain++
			if !bytes.Equal(p, m) {
				return errors.New("uncompressed echo differs")
			}
			continue
		}
		stream = append(append(stream, p...), 0, 0, 0xff, 0xff)
		want = append(want, m...)
	}
	got := make([]byte, len(want))
	if _, err := io.ReadFull(flate.NewReader(bytes.NewReader(stream)), got); err != nil || !bytes.Equal(got, want) {
		return fmt.Errorf("the echoes do not inflate to the messages: %v", err)
	}
	fmt.Printf("ext=%q messages=%d uncompressed=%d compressed_payload=%d ratio=%.3f (%.1f%% saved) sent_uncompressed=%d\n",
		w.ext, frames, raw, wire, float64(wire)/float64(raw), 100-100*float64(wire)/float64(raw), plain)
	return nil
}

// bombPayload is mb MB of deflate that inflates to 1024 times as much
// zeros: one compressed MiB of zeros, sync-flushed, repeated.
func bombPayload(mb int) (p []byte, inflated int64) {
	var z bytes.Buffer
	fw, _ := flate.NewWriter(&z, flate.BestCompression)
	fw.Write(make([]byte, 1<<20))
	fw.Flush()
	chunk := z.Bytes()
	for len(p) < mb<<20 {
		p = append(p, chunk...)
		inflated += 1 << 20
	}
	return bytes.TrimSuffix(p, []byte{0, 0, 0xff, 0xff}), inflated
}

func rssKiB(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			v, _ := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
			return v
		}
	}
	return 0
}

func bomb(addr string, pid, mb int, timeout time.Duration) error {
	p, inflated := bombPayload(mb)
	victim, err := dial(addr)
	if err != nil {
		return err
	}
	by, err := dial(addr)
	if err != nil {
		return err
	}
	rss0 := rssKiB(pid)
	var peak atomic.Int64
	peak.Store(rss0)
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				if r := rssKiB(pid); r > peak.Load() {
					peak.Store(r)
				}
			}
		}
	}()
	var slowest atomic.Int64
	var byN atomic.Int64
	byErr := make(chan error, 1)
	go func() {
		var buf []byte
		for {
			select {
			case <-stop:
				byErr <- nil
				return
			case <-time.After(100 * time.Millisecond):
			}
			t := time.Now()
			if err := by.send(0x81, []byte(`{"type":"ping","n":1}`)); err != nil {
				byErr <- err
				return
			}
			if _, _, _, err := by.frame(buf, false); err != nil {
				byErr <- err
				return
			}
			if d := time.Since(t); int64(d) > slowest.Load() {
				slowest.Store(int64(d))
			}
			byN.Add(1)
		}
	}()
	t0 := time.Now()
	go victim.send(0xc2, p) // RSV1, binary; the server may stop reading it
	victim.c.SetReadDeadline(t0.Add(timeout))
	// The echo, if any, is inflated as it comes to count its bytes.
	pr, pw := io.Pipe()
	inflatedBack := make(chan int64, 1)
	go func() {
		n, _ := io.Copy(io.Discard, flate.NewReader(pr))
		pr.Close()
		inflatedBack <- n
	}()
	var echoed, frames int64
	var buf []byte
	fate := ""
	for {
		b0, pl, n, err := victim.frame(buf, false)
		if err != nil {
			fate = fmt.Sprintf("read ended: %v", err)
			break
		}
		buf = pl
		if b0&0x0f == 8 {
			fate = "close frame"
			if len(pl) >= 2 {
				fate += fmt.Sprintf(" %d %q", binary.BigEndian.Uint16(pl), pl[2:])
			}
			break
		}
		pw.Write(pl)
		echoed += n
		frames++
		if b0&0x80 != 0 {
			fate = "echoed whole"
			break
		}
	}
	pw.Write([]byte{0, 0, 0xff, 0xff})
	pw.Close()
	back := <-inflatedBack
	elapsed := time.Since(t0)
	time.Sleep(300 * time.Millisecond) // the bystander echoes after the bomb too
	close(stop)
	bErr := <-byErr
	if r := rssKiB(pid); r > peak.Load() {
		peak.Store(r)
	}
	fmt.Printf("bomb: %d compressed bytes (inflates to %d MiB); after %.1fs: %s; echo: %d frames, %d bytes on the wire, %d MiB inflated; server RSS before %d KiB, peak %d KiB (+%.1f MiB); bystander: %d echoes, slowest %.1f ms, error %v\n",
		len(p), inflated>>20, elapsed.Seconds(), fate, frames, echoed, back>>20, rss0, peak.Load(), float64(peak.Load()-rss0)/1024,
		byN.Load(), float64(slowest.Load())/1e6, bErr)
	return nil
}
