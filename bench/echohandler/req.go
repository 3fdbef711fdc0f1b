package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	zmq "github.com/pebbe/zmq4"

	"github.com/condure-go/condure/zhttp"
)

// Req mode (-req): a ROUTER connected to (or with -bind, bound on) the
// server's --zclient-req spec answers every request with 200 "hello world\n",
// the envelope kept, so the benchmark's req scenario measures the server
// as the stream scenario does.

// reqBatch: requests answered per pass before checking for a signal.
const reqBatch = 512

// runReq serves req-mode requests until SIGINT or SIGTERM.
func (h *handler) runReq(spec string) error {
	ctx, err := zmq.NewContext()
	if err != nil {
		return err
	}
	s, err := ctx.NewSocket(zmq.ROUTER)
	if err != nil {
		return err
	}
	if err := attach(s, spec); err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	poller := zmq.NewPoller()
	poller.Add(s, zmq.POLLIN)
	for {
		for i := 0; i < reqBatch; i++ {
			frames, err := s.RecvMessageBytes(zmq.DONTWAIT)
			if err != nil {
				if e := zmq.AsErrno(err); e != zmq.Errno(syscall.EAGAIN) && e != zmq.Errno(syscall.EINTR) {
					return err
				}
				break
			}
			if reply := h.reqReply(frames); reply != nil {
				if _, err := s.SendMessageDontwait(reply); err != nil {
					h.nDrop++
				}
			}
		}
		select {
		case <-sig:
			fmt.Fprintf(os.Stderr, "echohandler: req %d dropped %d\n", h.nHTTP, h.nDrop)
			s.Close()
			ctx.Term()
			return nil
		default:
		}
		if _, err := poller.Poll(time.Second); err != nil && zmq.AsErrno(err) != zmq.Errno(syscall.EINTR) {
			return err
		}
	}
}

// reqReply returns the reply to a req-mode message [envelope..., "",
// packet]: the envelope and delimiter as they came, then a 200 response
// packet with the request's id; nil for a message that is not a request.
func (h *handler) reqReply(frames [][]byte) [][]byte {
	d := 0
	for d < len(frames) && len(frames[d]) > 0 {
		d++
	}
	if d+1 >= len(frames) {
		return nil
	}
	p := &h.pkt
	if err := p.Parse(frames[d+1]); err != nil || p.Type != zhttp.TypeData || len(p.IDs) == 0 {
		return nil
	}
	h.nHTTP++
	b := append(h.buf[:0], 'T')
	b, m := zhttp.BeginContainer(b)
	b = append(b, kID...)
	b = zhttp.AppendTnetString(b, p.IDs[0].ID)
	b = zhttp.EndContainer(appendHello(b), m, zhttp.TnetDict)
	h.buf = b
	return append(frames[:d+1], b)
}
