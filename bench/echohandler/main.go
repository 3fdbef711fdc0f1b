// Command echohandler is a fast stream-mode ZHTTP handler for load tests.
//
// WebSocket requests (uri ws:// or wss://) are accepted with 101 and a grant
// of -credits bytes; every message is echoed back with its content type,
// pings are answered with pongs and a close with a close. Credits are
// respected in both directions: echoes wait for the server's credit when its
// window is used up, and the bytes consumed are granted back on the echo
// packets themselves (or in a credit packet once half the window is owed).
// Plain HTTP requests are answered 200 "hello world\n" like hellohandler,
// after reading any body. Server keep-alives (multi-id or not) are ignored;
// cancel ends the sessions it names. The handler sends batched multi-id
// keep-alives for its WebSocket sessions every -keepalive (30 s), so that idle
// connections outlive the server's 60 s session timer: a sixth of the
// sessions every 5 s, so the cost is spread evenly over time (all at once,
// a 10 s measurement of idle CPU held a burst or not; every second, it
// woke the server ten times as often).
//
// It connects to the server's bound endpoints (ipc:// or tcp:// base spec,
// as the server's --zclient-stream) and drains each socket per wake-up.
// With -req it serves req mode instead (req.go).
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	zmq "github.com/pebbe/zmq4"

	"github.com/condure-go/condure/zhttp"
)

func main() {
	spec := flag.String("spec", "ipc://client", "server --zclient-stream base spec")
	instance := flag.String("instance", "condure", "server --id")
	id := flag.String("id", fmt.Sprintf("echo-%d", os.Getpid()), "handler identity (ROUTER identity and `from`)")
	credits := flag.Int("credits", 65536, "bytes granted to the server for incoming WebSocket messages")
	keepalive := flag.Duration("keepalive", 30*time.Second, "keep-alive interval for WebSocket sessions (0: none)")
	flag.BoolVar(&bindSockets, "bind", false, "bind the endpoints, for a server run with --zclient-connect")
	req := flag.Bool("req", false, "req mode: a ROUTER on -spec (the server's --zclient-req) answering every request 200 (req.go)")
	flag.Parse()
	h := newHandler(*id, *instance, *credits)
	run := func() error { return h.run(*spec, *keepalive) }
	if *req {
		run = func() error { return h.runReq(*spec) }
	}
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

// bindSockets: -bind.
var bindSockets bool

// attach gives s the high-water marks of a benchmark (a million messages:
// the handler must not be the one that drops) and no linger, then binds
// it on ep (-bind) or connects it there.
func attach(s *zmq.Socket, ep string) error {
	s.SetRcvhwm(1000000)
	s.SetSndhwm(1000000)
	s.SetLinger(0)
	if bindSockets {
		if err := s.Bind(ep); err != nil {
			return fmt.Errorf("bind %s: %w", ep, err)
		}
	} else if err := s.Connect(ep); err != nil {
		return fmt.Errorf("connect %s: %w", ep, err)
	}
	return nil
}

func newHandler(id, instance string, credits int) *handler {
	return &handler{
		id:      []byte(id),
		prefix:  []byte(instance + " "),
		credits: credits,
		ws:      map[string]*wsSess{},
		bodies:  map[string]int64{},
		buf:     make([]byte, 0, 1<<16),
	}
}

func endpoints(spec string) (out, outStream, in string, err error) {
	switch {
	case strings.HasPrefix(spec, "ipc://"):
		return spec + "-out", spec + "-out-stream", spec + "-in", nil
	case strings.HasPrefix(spec, "tcp://"):
		i := strings.LastIndexByte(spec, ':')
		port, perr := strconv.Atoi(spec[i+1:])
		if i < len("tcp://") || perr != nil {
			return "", "", "", fmt.Errorf("bad tcp spec %q", spec)
		}
		host := spec[:i+1]
		return spec, host + strconv.Itoa(port+1), host + strconv.Itoa(port+2), nil
	}
	return "", "", "", errors.New("spec must be ipc:// or tcp://")
}

type segKind uint8

const (
	segData segKind = iota
	segPong
	segClose
)

// seg is an outgoing WebSocket packet waiting for credits.
type seg struct {
	kind    segKind
	ct      []byte
	body    []byte
	more    bool
	code    int
	hasCode bool
}

type wsSess struct {
	seq     int64 // next outbound seq
	credits int   // bytes the server lets us send
	owe     int   // bytes received, not yet granted back
	q       []seg // blocked on credits
	kaSlot  int   // which keep-alive tick serves it
}

type handler struct {
	id, prefix []byte
	credits    int
	out        func([]byte) error // publishes one message (the PUB socket)
	buf        []byte
	ws         map[string]*wsSess
	bodies     map[string]int64 // HTTP sessions reading a body: next seq
	pkt        zhttp.Packet

	nHTTP, nWS, nMsgs, nDrop uint64
	opened                   int // WebSocket sessions accepted, for kaSlot
}

func (h *handler) run(spec string, keepalive time.Duration) error {
	out, outStream, in, err := endpoints(spec)
	if err != nil {
		return err
	}
	ctx, err := zmq.NewContext()
	if err != nil {
		return err
	}
	pull, err := ctx.NewSocket(zmq.PULL)
	if err != nil {
		return err
	}
	router, err := ctx.NewSocket(zmq.ROUTER)
	if err != nil {
		return err
	}
	pub, err := ctx.NewSocket(zmq.PUB)
	if err != nil {
		return err
	}
	h.out = func(b []byte) error { _, err := pub.SendBytes(b, zmq.DONTWAIT); return err }
	if err := router.SetIdentity(string(h.id)); err != nil {
		return err
	}
	for _, c := range []struct {
		s  *zmq.Socket
		ep string
	}{{pull, out}, {router, outStream}, {pub, in}} {
		if err := attach(c.s, c.ep); err != nil {
			return err
		}
	}
	time.Sleep(200 * time.Millisecond) // PUB/SUB slow joiner

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	poller := zmq.NewPoller()
	poller.Add(pull, zmq.POLLIN)
	poller.Add(router, zmq.POLLIN)
	kaSlots := max(1, int(keepalive/(5*time.Second)))
	kaTick := keepalive / time.Duration(kaSlots)
	nextKA, kaSlot := time.Now().Add(kaTick), 0
	for {
		// Drain both sockets (bounded per pass), then wait.
		busy := true
		for busy {
			busy = false
			for _, s := range []*zmq.Socket{pull, router} {
				for i := 0; i < 512; i++ {
					frames, err := s.RecvMessageBytes(zmq.DONTWAIT)
					if err != nil {
						if zmq.AsErrno(err) != zmq.Errno(syscall.EAGAIN) && zmq.AsErrno(err) != zmq.Errno(syscall.EINTR) {
							return err
						}
						break
					}
					busy = true
					if len(frames) > 0 {
						h.handle(frames[len(frames)-1], s == pull)
					}
				}
			}
		}
		select {
		case <-sig:
			fmt.Fprintf(os.Stderr, "echohandler: http %d ws %d msgs %d dropped %d\n", h.nHTTP, h.nWS, h.nMsgs, h.nDrop)
			pull.Close()
			router.Close()
			pub.Close()
			ctx.Term()
			return nil
		default:
		}
		wait := time.Second
		if keepalive > 0 {
			now := time.Now()
			if !now.Before(nextKA) {
				h.keepAlives(kaSlot, kaSlots)
				kaSlot = (kaSlot + 1) % kaSlots
				nextKA = now.Add(kaTick)
			}
			wait = min(wait, time.Until(nextKA))
		}
		if _, err := poller.Poll(max(wait, time.Millisecond)); err != nil && zmq.AsErrno(err) != zmq.Errno(syscall.EINTR) {
			return err
		}
	}
}

// uriOf returns the uri field of a server request packet.
func uriOf(msg []byte) []byte {
	if len(msg) == 0 || msg[0] != 'T' {
		return nil
	}
	top, _, err := zhttp.ParseTnet(msg[1:])
	if err != nil || top.Kind != zhttp.TnetDict {
		return nil
	}
	rest := top.Payload
	for len(rest) > 0 {
		k, r, err := zhttp.ParseTnet(rest)
		if err != nil {
			return nil
		}
		v, r, err := zhttp.ParseTnet(r)
		if err != nil {
			return nil
		}
		if string(k.Payload) == "uri" && v.Kind == zhttp.TnetString {
			return v.Payload
		}
		rest = r
	}
	return nil
}

func isWS(uri []byte) bool {
	return bytes.HasPrefix(uri, []byte("ws://")) || bytes.HasPrefix(uri, []byte("wss://"))
}

func (h *handler) handle(msg []byte, first bool) {
	p := &h.pkt
	if err := p.Parse(msg); err != nil {
		return
	}
	switch p.Type {
	case zhttp.TypeCancel:
		for _, x := range p.IDs {
			delete(h.ws, string(x.ID))
			delete(h.bodies, string(x.ID))
		}
		return
	case zhttp.TypeKeepAlive:
		return
	}
	sid := p.IDs[0].ID
	if first {
		if p.Type != zhttp.TypeData {
			return
		}
		if isWS(uriOf(msg)) {
			h.nWS++
			h.accept(sid, p.Credits)
			return
		}
		h.nHTTP++
		if !p.More {
			h.respond(sid, 0)
			return
		}
		h.credit(sid, 0, 65536)
		h.bodies[string(sid)] = 1
		return
	}
	if s, ok := h.ws[string(sid)]; ok {
		h.wsPacket(sid, s)
		return
	}
	if seq, ok := h.bodies[string(sid)]; ok && p.Type == zhttp.TypeData {
		if p.More {
			h.credit(sid, seq, len(p.Body))
			h.bodies[string(sid)] = seq + 1
		} else {
			h.respond(sid, seq)
			delete(h.bodies, string(sid))
		}
	}
}

func (h *handler) wsPacket(sid []byte, s *wsSess) {
	p := &h.pkt
	switch p.Type {
	case zhttp.TypeCredit:
		s.credits += p.Credits
		h.flush(sid, s)
	case zhttp.TypeData:
		s.credits += p.Credits
		s.owe += len(p.Body)
		if !p.More {
			h.nMsgs++
		}
		h.enqueue(sid, s, seg{kind: segData, ct: p.ContentType, body: p.Body, more: p.More})
	case zhttp.TypePing:
		s.credits += p.Credits
		s.owe += len(p.Body)
		h.enqueue(sid, s, seg{kind: segPong, body: p.Body})
	case zhttp.TypePong:
		s.credits += p.Credits
		s.owe += len(p.Body)
		h.flush(sid, s)
	case zhttp.TypeClose:
		h.enqueue(sid, s, seg{kind: segClose, code: p.Code, hasCode: p.HasCode})
	}
	if _, live := h.ws[string(sid)]; live && s.owe >= h.credits/2 {
		h.credit(sid, s.seq, s.owe)
		s.seq++
		s.owe = 0
	}
}

// enqueue sends g at once when nothing is queued before it and the credits
// allow, else queues it. Bodies are views into a received message that is
// never reused, so they are kept without copying.
func (h *handler) enqueue(sid []byte, s *wsSess, g seg) {
	if len(s.q) == 0 && h.step(sid, s, &g) {
		return
	}
	s.q = append(s.q, g)
}

// flush sends the queued segments the credits allow.
func (h *handler) flush(sid []byte, s *wsSess) {
	for len(s.q) > 0 {
		if !h.step(sid, s, &s.q[0]) {
			return
		}
		if len(s.q) == 0 { // closed
			return
		}
		s.q[0] = seg{}
		s.q = s.q[1:]
	}
	s.q = nil
}

// step sends what it can of g and reports whether g is done. A data segment
// is split when only part of it fits; the rest goes out later with more set.
func (h *handler) step(sid []byte, s *wsSess, g *seg) bool {
	switch g.kind {
	case segData:
		n := min(len(g.body), s.credits)
		if n == 0 && len(g.body) > 0 {
			return false
		}
		more := g.more || n < len(g.body)
		h.wsSend(sid, s, "", g.ct, g.body[:n], more, false, 0)
		s.credits -= n
		if n < len(g.body) {
			g.body = g.body[n:]
			return false
		}
	case segPong:
		if len(g.body) > s.credits {
			return false
		}
		h.wsSend(sid, s, "pong", nil, g.body, false, false, 0)
		s.credits -= len(g.body)
	case segClose:
		h.wsSend(sid, s, "close", nil, nil, false, g.hasCode, g.code)
		delete(h.ws, string(sid))
		s.q = nil
	}
	return true
}

// Encoded keys.
const (
	kFrom    = "4:from,"
	kID      = "2:id,"
	kSeq     = "3:seq,"
	kType    = "4:type,"
	kCode    = "4:code,"
	kReason  = "6:reason,"
	kHeaders = "7:headers,"
	kBody    = "4:body,"
	kCredits = "7:credits,"
	kMore    = "4:more,"
	kCT      = "12:content-type,"
)

// begin starts "<instance> T{from, id, seq" in h.buf.
func (h *handler) begin(sid []byte, seq int64) ([]byte, int) {
	b := append(h.buf[:0], h.prefix...)
	b = append(b, 'T')
	b, m := zhttp.BeginContainer(b)
	b = append(b, kFrom...)
	b = zhttp.AppendTnetString(b, h.id)
	b = append(b, kID...)
	b = zhttp.AppendTnetString(b, sid)
	b = append(b, kSeq...)
	b = zhttp.AppendTnetInt(b, seq)
	return b, m
}

func (h *handler) send(b []byte, m int) {
	b = zhttp.EndContainer(b, m, zhttp.TnetDict)
	h.buf = b
	if err := h.out(b); err != nil {
		h.nDrop++
	}
}

func appendStr(b []byte, key, val string) []byte {
	b = append(b, key...)
	b = strconv.AppendInt(b, int64(len(val)), 10)
	b = append(b, ':')
	b = append(b, val...)
	return append(b, ',')
}

var helloBody = []byte("hello world\n")

func (h *handler) respond(sid []byte, seq int64) {
	b, m := h.begin(sid, seq)
	h.send(appendHello(b), m)
}

// appendHello appends the fields of the 200 "hello world\n" response
// (code, reason, headers, body) to an open response dict: stream and req
// mode answer alike.
func appendHello(b []byte) []byte {
	b = append(b, kCode...)
	b = zhttp.AppendTnetInt(b, 200)
	b = appendStr(b, kReason, "OK")
	b = append(b, kHeaders...)
	b, l := zhttp.BeginContainer(b)
	b, p := zhttp.BeginContainer(b)
	b = zhttp.AppendTnetString(b, []byte("Content-Type"))
	b = zhttp.AppendTnetString(b, []byte("text/plain"))
	b = zhttp.EndContainer(b, p, zhttp.TnetList)
	b = zhttp.EndContainer(b, l, zhttp.TnetList)
	b = append(b, kBody...)
	return zhttp.AppendTnetString(b, helloBody)
}

func (h *handler) credit(sid []byte, seq int64, n int) {
	b, m := h.begin(sid, seq)
	b = appendStr(b, kType, "credit")
	b = append(b, kCredits...)
	b = zhttp.AppendTnetInt(b, int64(n))
	h.send(b, m)
}

func (h *handler) accept(sid []byte, serverCredits int) {
	b, m := h.begin(sid, 0)
	b = append(b, kCode...)
	b = zhttp.AppendTnetInt(b, 101)
	b = appendStr(b, kReason, "Switching Protocols")
	b = append(b, kCredits...)
	b = zhttp.AppendTnetInt(b, int64(h.credits))
	h.send(b, m)
	h.ws[string(sid)] = &wsSess{seq: 1, credits: serverCredits, kaSlot: h.opened}
	h.opened++
}

// wsSend sends one WebSocket packet (typ "" for data), carrying the credits
// owed.
func (h *handler) wsSend(sid []byte, s *wsSess, typ string, ct, body []byte, more, hasCode bool, code int) {
	b, m := h.begin(sid, s.seq)
	s.seq++
	if typ != "" {
		b = appendStr(b, kType, typ)
	}
	if len(ct) > 0 {
		b = append(b, kCT...)
		b = zhttp.AppendTnetString(b, ct)
	}
	if len(body) > 0 {
		b = append(b, kBody...)
		b = zhttp.AppendTnetString(b, body)
	}
	if more {
		b = append(b, kMore...)
		b = zhttp.AppendTnetBool(b, true)
	}
	if hasCode {
		b = append(b, kCode...)
		b = zhttp.AppendTnetInt(b, int64(code))
	}
	if s.owe > 0 && typ != "close" {
		b = append(b, kCredits...)
		b = zhttp.AppendTnetInt(b, int64(s.owe))
		s.owe = 0
	}
	h.send(b, m)
}

// keepAlives sends one keep-alive for every WebSocket session in slot (of
// slots), 128 ids per packet in the list form of id, each with the
// session's own seq.
func (h *handler) keepAlives(slot, slots int) {
	const batch = 128
	var b []byte
	var top, list, n int
	flushBatch := func() {
		if n == 0 {
			return
		}
		b = zhttp.EndContainer(b, list, zhttp.TnetList)
		b = appendStr(b, kType, "keep-alive")
		h.send(b, top)
		n = 0
	}
	for sid, s := range h.ws {
		if s.kaSlot%slots != slot {
			continue
		}
		if n == 0 {
			b = append(h.buf[:0], h.prefix...)
			b = append(b, 'T')
			b, top = zhttp.BeginContainer(b)
			b = append(b, kFrom...)
			b = zhttp.AppendTnetString(b, h.id)
			b = append(b, kID...)
			b, list = zhttp.BeginContainer(b)
		}
		var item int
		b, item = zhttp.BeginContainer(b)
		b = append(b, kID...)
		b = zhttp.AppendTnetString(b, []byte(sid))
		b = append(b, kSeq...)
		b = zhttp.AppendTnetInt(b, s.seq)
		b = zhttp.EndContainer(b, item, zhttp.TnetDict)
		s.seq++
		n++
		if n == batch {
			flushBatch()
		}
	}
	flushBatch()
}
