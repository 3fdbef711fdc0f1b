package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// warmOpenings runs total short-lived connections, at most par at once,
// each doing the opening exchange of its kind (an HTTP request with
// "Connection: close", or a WebSocket handshake followed by a close frame)
// and reading until the server closes. The server's slot is free once
// the client sees EOF, so the warm-up raises the number of live slots by
// at most par.
//
// Why: libzmq allocates a 16 KiB queue chunk the first time a pipe passes
// its 256th message. Each worker's PUSH pipe carries one message per
// opening, so without these the first measured step paid 16-32 KiB of
// one-time cost (up to 60 B/conn at 1k connections).
func warmOpenings(addr string, ws bool, total, par int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, par)
	for range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(total) {
				if err := openOnce(addr, ws); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return fmt.Errorf("warm-up openings: %v", err)
	default:
		return nil
	}
}

// wsClose is a masked close frame with status 1000 (mask 0: the payload
// is sent as is).
var wsClose = []byte{0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8}

func openOnce(addr string, ws bool) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\n\r\n"
	if ws {
		req = string(wsHandshake(addr, "/ws"))
	}
	if _, err := io.WriteString(c, req); err != nil {
		return err
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	want := http.StatusOK
	if ws {
		want = http.StatusSwitchingProtocols
		if _, err := c.Write(wsClose); err != nil {
			return err
		}
	}
	if resp.StatusCode != want {
		return fmt.Errorf("status %d, want %d", resp.StatusCode, want)
	}
	// Until EOF: the server has let go of the connection.
	_, err = io.Copy(io.Discard, br)
	return err
}
