// Command h2idle opens N HTTP/2 (h2c, prior knowledge) connections to a
// server, makes one GET on each, reads its response, and then holds them
// idle until killed: to measure what an idle HTTP/2 connection costs the
// server (scripts/bench-h2-idle.sh). It prints "ready N" once all are idle.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/condure-go/condure/http2"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8000", "server address")
	n := flag.Int("n", 1000, "connections")
	flag.Parse()
	conns := make([]net.Conn, 0, *n)
	var blk []byte
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "bench"}, {":path", "/"}, {"user-agent", "h2idle"}} {
		blk = http2.AppendField(blk, []byte(f[0]), []byte(f[1]))
	}
	hello := append([]byte(http2.ClientPreface), http2.AppendSettings(nil)...)
	hello = http2.AppendSettingsAck(hello)
	hello = http2.AppendHeaders(hello, 1, blk, true, 16384)
	for i := 0; i < *n; i++ {
		c, err := net.Dial("tcp", *addr)
		if err != nil {
			log.Fatalf("conn %d: %v", i, err)
		}
		if _, err := c.Write(hello); err != nil {
			log.Fatal(err)
		}
		if err := awaitEnd(bufio.NewReaderSize(c, 512)); err != nil {
			log.Fatalf("conn %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	fmt.Printf("ready %d\n", len(conns))
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	<-ch
}

// awaitEnd reads frames until one with END_STREAM on stream 1.
func awaitEnd(r *bufio.Reader) error {
	var hdr [http2.FrameHeaderLen]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return err
		}
		fh := http2.ParseFrameHeader(hdr[:])
		if _, err := r.Discard(int(fh.Length)); err != nil {
			return err
		}
		if fh.StreamID == 1 && fh.Flags.Has(http2.FlagEndStream) && (fh.Type == http2.FrameData || fh.Type == http2.FrameHeaders) {
			return nil
		}
	}
}
