package main

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/condure-go/condure/zhttp/zhttptest"
)

// TestReqDealerSendsTakeNoReply: with one worker the worker's own req
// DEALER is both sent on and read, and a send can process the socket's
// commands and so take the signal that replies wait (libzmq checks the
// mailbox in a send at most once a millisecond). The worker reads it only
// when its fd fired or it sent on it since it last read it to EAGAIN
// (server/worker.go pumpZmq). Here requests keep crossing replies that
// come 0-3 ms late, so sends land while replies wait: a worker that did
// not read after its sends would lose a wake-up, and with it every later
// reply (the pipe stays awake and libzmq signals no more), and the
// clients would stall.
func TestReqDealerSendsTakeNoReply(t *testing.T) {
	underTest(t) // CONDURE_BIN_UNDER_TEST: check a binary that loses wake-ups fails
	s := startReqServer(t, "--workers", "1")
	h := reqHandler(t, s.reqSpec)
	const conns, perConn = 8, 60
	stop := make(chan struct{})
	handled := make(chan error, 1)
	go func() { handled <- lateReplies(h, stop) }()
	defer func() {
		close(stop)
		if err := <-handled; err != nil {
			t.Errorf("handler: %v", err)
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := 0; i < conns; i++ {
		c := s.dialReq()
		wg.Add(1)
		go func(i int, c net.Conn) {
			defer wg.Done()
			br := bufio.NewReader(c)
			for k := 0; k < perConn; k++ {
				fmt.Fprintf(c, "GET /c%d/r%d HTTP/1.1\r\nHost: x\r\n\r\n", i, k)
				c.SetReadDeadline(time.Now().Add(burstDeadline))
				body, err := readResponseErr(br)
				if err != nil || body != "ok" {
					errs <- fmt.Errorf("conn %d request %d: %q %v", i, k, body, err)
					return
				}
			}
		}(i, c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// lateReplies answers every request "ok" 0-3 ms after it came, until stop.
func lateReplies(h *zhttptest.ReqHandler, stop chan struct{}) error {
	type due struct {
		r  *zhttptest.ReqRequest
		at time.Time
	}
	var q []due
	rnd := rand.New(rand.NewSource(19))
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		wait := 5 * time.Millisecond
		if len(q) > 0 {
			wait = max(time.Until(q[0].at), 0)
		}
		r, err := h.Recv(wait)
		switch {
		case err == nil:
			at := time.Now().Add(time.Duration(rnd.Intn(3000)) * time.Microsecond)
			i := len(q)
			for i > 0 && q[i-1].at.After(at) {
				i--
			}
			q = append(q[:i], append([]due{{r, at}}, q[i:]...)...)
		case !errors.Is(err, zhttptest.ErrTimeout):
			return err
		}
		for len(q) > 0 && !q[0].at.After(time.Now()) {
			if err := h.Reply(q[0].r, map[string]any{"code": 200, "reason": "OK", "body": "ok"}); err != nil {
				return err
			}
			q = q[1:]
		}
	}
}
