// Package zhttptest is the handler side of ZHTTP, for tests, benchmarks and
// example handlers written in Go: it connects to a server's stream or req
// endpoints like any handler would. It favours convenience over speed:
// packets are decoded into maps.
package zhttptest

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	zmq "github.com/pebbe/zmq4"

	"github.com/condure-go/condure/config"
	"github.com/condure-go/condure/zhttp"
)

// Handler is one handler process's sockets: PULL on B-out, ROUTER (identity
// = ID) on B-out-stream, PUB on B-in. Use it from one goroutine, except
// that one goroutine may Recv while another Sends (they share no socket).
// Its PUB has no send high-water mark, so Send never drops a packet once
// the server is subscribed (see dialHandler).
type Handler struct {
	ID       string // ROUTER identity and the `from` of every packet sent
	Instance string // the server's --id, prefix of every published message
	ctx      *zmq.Context
	pull     *zmq.Socket
	router   *zmq.Socket
	pub      *zmq.Socket
	poller   *zmq.Poller
	monitors []*zmq.Socket // handshakes done by PULL and ROUTER's connections
}

// handshakeTimeout bounds the wait of a dialling handler for its
// connections to the server: generous, for a loaded machine.
const handshakeTimeout = 5 * time.Second

// DialHandler connects a handler to the stream endpoints of base (the
// server's --zclient-stream) and waits until its PULL and ROUTER are
// connected and the server's SUB subscription reached the PUB (the
// slow-joiner rule).
func DialHandler(base, id, instance string) (*Handler, error) {
	return dialHandler(base, id, instance, false, 0)
}

// DialHandlerHWM is DialHandler (bind false) or BindHandler (bind true)
// with the receive high-water mark of the handler's sockets set to hwm, so
// a handler that stops reading fills its pipes after a few messages.
func DialHandlerHWM(base, id, instance string, bind bool, hwm int) (*Handler, error) {
	return dialHandler(base, id, instance, bind, hwm)
}

// BindHandler binds the endpoints instead, for a server run with
// --zclient-connect.
func BindHandler(base, id, instance string) (*Handler, error) {
	return dialHandler(base, id, instance, true, 0)
}

func dialHandler(base, id, instance string, bind bool, hwm int) (*Handler, error) {
	out, outStream, in, err := config.StreamSpecs(base)
	if err != nil {
		return nil, err
	}
	ctx, err := zmq.NewContext()
	if err != nil {
		return nil, err
	}
	h := &Handler{ID: id, Instance: instance, ctx: ctx}
	attachOne := func(s *zmq.Socket, ep string) error {
		if bind {
			return s.Bind(ep)
		}
		return s.Connect(ep)
	}
	if h.pull, err = ctx.NewSocket(zmq.PULL); err == nil {
		if h.router, err = ctx.NewSocket(zmq.ROUTER); err == nil {
			// XPUB rather than PUB: it hands us the server's
			// subscriptions, so we know when publishing reaches it;
			// verbose: every one comes up, one per worker in connect
			// mode, also one repeated by a server that connects again
			// (see WaitSubscribed).
			h.pub, err = ctx.NewSocket(zmq.XPUB)
		}
	}
	if err == nil {
		h.router.SetIdentity(id)
		h.pub.SetXpubVerbose(1)
		// No send high-water mark: a PUB drops silently what meets it,
		// and libzmq's writer learns how far the reader got only every
		// lwm (hwm/2) messages, so with the default 1000 a burst of as
		// few as ~500 packets can lose its tail (a stream response then
		// never ends). A test's bursts are bounded by its own code.
		h.pub.SetSndhwm(0)
		if hwm > 0 {
			h.pull.SetRcvhwm(hwm)
			h.router.SetRcvhwm(hwm)
		}
	}
	if err == nil {
		// Watch the connections' handshakes: a bound handler counts the
		// server's (WaitSubscribers), a dialling one waits for its own.
		for i, s := range []*zmq.Socket{h.pull, h.router} {
			ep := fmt.Sprintf("inproc://handler-monitor-%d", i)
			var m *zmq.Socket
			if err = s.Monitor(ep, zmq.EVENT_HANDSHAKE_SUCCEEDED); err == nil {
				if m, err = ctx.NewSocket(zmq.PAIR); err == nil {
					h.monitors = append(h.monitors, m)
					err = m.Connect(ep)
				}
			}
			if err != nil {
				break
			}
		}
	}
	for _, a := range [][2]any{{h.pull, out}, {h.router, outStream}, {h.pub, in}} {
		if err == nil {
			err = attachOne(a[0].(*zmq.Socket), a[1].(string))
		}
	}
	if err != nil {
		h.Close()
		return nil, err
	}
	h.poller = zmq.NewPoller()
	h.poller.Add(h.pull, zmq.POLLIN)
	h.poller.Add(h.router, zmq.POLLIN)
	// Slow joiner: what a PUB sends before the server's subscription
	// reaches it is dropped, so wait for that subscription (a frame of 1
	// followed by the topic "<instance> "), and for PULL and ROUTER to be
	// connected: the server's one SUB, PUSH and ROUTER are bound, so one
	// of each. Then a packet published reaches the server, and the server
	// can route what follows to our ROUTER.
	// A bound handler (server in connect mode) has no server yet: the
	// caller waits after starting it (WaitSubscribers, WaitSubscribed).
	if !bind {
		if err := h.WaitSubscribers(1, handshakeTimeout); err != nil {
			h.Close()
			return nil, fmt.Errorf("connecting to %s: %w", base, err)
		}
	}
	return h, nil
}

// WaitSubscribers waits until n subscriptions to the server's instance
// reached the PUB and n connections of PULL and ROUTER completed their
// handshakes: one of each per worker of a server in connect mode. Packets published
// from then on are delivered, and the server can send to us.
func (h *Handler) WaitSubscribers(n int, timeout time.Duration) error {
	for _, m := range h.monitors {
		m.SetRcvtimeo(timeout)
		for i := 0; i < n; i++ {
			if _, _, _, err := m.RecvEvent(0); err != nil {
				return err
			}
		}
	}
	h.pub.SetRcvtimeo(timeout)
	for n > 0 {
		sub, err := h.pub.RecvBytes(0)
		if err != nil {
			return err
		}
		if len(sub) > 0 && sub[0] == 1 && string(sub[1:]) == h.Instance+" " {
			n--
		}
	}
	return nil
}

// CloseRequests closes the PULL socket: the server's PUSH sends new
// requests to the other handlers only.
func (h *Handler) CloseRequests() {
	h.poller.Remove(0)
	h.pull.SetLinger(0)
	h.pull.Close()
	h.pull = nil
}

// Close closes the sockets without lingering.
func (h *Handler) Close() {
	for _, s := range append([]*zmq.Socket{h.pull, h.router, h.pub}, h.monitors...) {
		if s != nil {
			s.SetLinger(0)
			s.Close()
		}
	}
	h.ctx.Term()
}

// ErrTimeout is returned by Recv when nothing arrived in time.
var ErrTimeout = errors.New("timed out")

// Recv returns the next packet from the server (a request from PULL or a
// later packet from the ROUTER), decoded, or ErrTimeout. A timeout ≤ 0 (a
// deadline already passed) only looks; zmq would take a negative one as
// "wait forever".
func (h *Handler) Recv(timeout time.Duration) (map[string]any, error) {
	polled, err := h.poller.Poll(max(timeout, 0))
	if err != nil {
		return nil, err
	}
	if len(polled) == 0 {
		return nil, ErrTimeout
	}
	frames, err := polled[0].Socket.RecvMessageBytes(0)
	if err != nil {
		return nil, err
	}
	payload := frames[len(frames)-1] // ROUTER: [server id, "", payload]
	return DecodePacket(payload)
}

// Send publishes a packet; "from" is filled in with h.ID when absent.
func (h *Handler) Send(p map[string]any) error {
	if _, ok := p["from"]; !ok {
		p["from"] = h.ID
	}
	msg := append([]byte(h.Instance+" "), EncodePacket(p)...)
	_, err := h.pub.SendBytes(msg, 0)
	return err
}

// WaitSubscribed waits for the next subscription of a server to reach the
// PUB (a server connecting, or connecting again, to a bound handler) and
// reports whether one came within timeout.
func (h *Handler) WaitSubscribed(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		h.pub.SetRcvtimeo(left)
		sub, err := h.pub.RecvBytes(0)
		if err != nil {
			return false
		}
		if len(sub) > 0 && sub[0] == 1 && string(sub[1:]) == h.Instance+" " {
			return true
		}
	}
}

// SendRaw publishes msg as it is (for malformed-packet tests).
func (h *Handler) SendRaw(msg []byte) error {
	_, err := h.pub.SendBytes(msg, 0)
	return err
}

// DecodePacket decodes "T" + tnetstring dict into Go values: strings become
// string, ints int64, lists []any, dicts map[string]any.
func DecodePacket(b []byte) (map[string]any, error) {
	if len(b) == 0 || b[0] != 'T' {
		return nil, zhttp.ErrFormat
	}
	v, _, err := zhttp.ParseTnet(b[1:])
	if err != nil {
		return nil, err
	}
	d, err := decodeValue(v)
	if err != nil {
		return nil, err
	}
	m, ok := d.(map[string]any)
	if !ok {
		return nil, zhttp.ErrFormat
	}
	return m, nil
}

func decodeValue(v zhttp.TnetValue) (any, error) {
	switch v.Kind {
	case zhttp.TnetString:
		return string(v.Payload), nil
	case zhttp.TnetInt:
		return v.Int()
	case zhttp.TnetBool:
		return v.Bool()
	case zhttp.TnetNull:
		return nil, nil
	case zhttp.TnetFloat:
		return strconv.ParseFloat(string(v.Payload), 64)
	case zhttp.TnetList:
		list := []any{}
		rest := v.Payload
		for len(rest) > 0 {
			e, r, err := zhttp.ParseTnet(rest)
			if err != nil {
				return nil, err
			}
			x, err := decodeValue(e)
			if err != nil {
				return nil, err
			}
			list = append(list, x)
			rest = r
		}
		return list, nil
	case zhttp.TnetDict:
		m := map[string]any{}
		rest := v.Payload
		for len(rest) > 0 {
			k, r, err := zhttp.ParseTnet(rest)
			if err != nil {
				return nil, err
			}
			e, r2, err := zhttp.ParseTnet(r)
			if err != nil {
				return nil, err
			}
			x, err := decodeValue(e)
			if err != nil {
				return nil, err
			}
			m[string(k.Payload)] = x
			rest = r2
		}
		return m, nil
	}
	return nil, zhttp.ErrTnet
}

// EncodePacket encodes a map as "T" + tnetstring dict, keys sorted. Values
// may be string, []byte, int, int64, bool, nil, []any, [][]string,
// []map[string]any and map[string]any.
func EncodePacket(p map[string]any) []byte {
	return encodeValue([]byte{'T'}, p)
}

func encodeValue(dst []byte, v any) []byte {
	switch x := v.(type) {
	case string:
		return zhttp.AppendTnetString(dst, []byte(x))
	case []byte:
		return zhttp.AppendTnetString(dst, x)
	case int:
		return zhttp.AppendTnetInt(dst, int64(x))
	case int64:
		return zhttp.AppendTnetInt(dst, x)
	case bool:
		return zhttp.AppendTnetBool(dst, x)
	case nil:
		return append(dst, "0:~"...)
	case []any:
		dst, mark := zhttp.BeginContainer(dst)
		for _, e := range x {
			dst = encodeValue(dst, e)
		}
		return zhttp.EndContainer(dst, mark, zhttp.TnetList)
	case [][]string:
		dst, mark := zhttp.BeginContainer(dst)
		for _, e := range x {
			m2 := 0
			dst, m2 = zhttp.BeginContainer(dst)
			for _, s := range e {
				dst = zhttp.AppendTnetString(dst, []byte(s))
			}
			dst = zhttp.EndContainer(dst, m2, zhttp.TnetList)
		}
		return zhttp.EndContainer(dst, mark, zhttp.TnetList)
	case []map[string]any:
		dst, mark := zhttp.BeginContainer(dst)
		for _, e := range x {
			dst = encodeValue(dst, e)
		}
		return zhttp.EndContainer(dst, mark, zhttp.TnetList)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		dst, mark := zhttp.BeginContainer(dst)
		for _, k := range keys {
			dst = zhttp.AppendTnetString(dst, []byte(k))
			dst = encodeValue(dst, x[k])
		}
		return zhttp.EndContainer(dst, mark, zhttp.TnetDict)
	}
	panic(fmt.Sprintf("zhttptest: cannot encode %T", v))
}

// ReqHandler is a req-mode handler: a ROUTER connected to (or bound at) the
// server's --zclient-req specs, so it can answer requests in any order and
// reply to ids of its choosing. Use it from one goroutine.
type ReqHandler struct {
	ctx    *zmq.Context
	router *zmq.Socket
}

// ReqRequest is one received request and the envelope its reply needs.
type ReqRequest struct {
	Packet   map[string]any
	envelope [][]byte
}

// DialReqHandler connects to a server's bound req spec and waits until the
// connection's handshake is done.
func DialReqHandler(spec string) (*ReqHandler, error) { return reqHandler(spec, false) }

// BindReqHandler binds spec, for a server run with --zclient-connect.
func BindReqHandler(spec string) (*ReqHandler, error) { return reqHandler(spec, true) }

func reqHandler(spec string, bind bool) (*ReqHandler, error) {
	ctx, err := zmq.NewContext()
	if err != nil {
		return nil, err
	}
	h := &ReqHandler{ctx: ctx}
	var mon *zmq.Socket
	if h.router, err = ctx.NewSocket(zmq.ROUTER); err == nil {
		if bind {
			// A server connecting later queues its requests until the
			// connection is made: nothing to wait for.
			err = h.router.Bind(spec)
		} else if err = h.router.Monitor("inproc://req-monitor", zmq.EVENT_HANDSHAKE_SUCCEEDED); err == nil {
			if mon, err = ctx.NewSocket(zmq.PAIR); err == nil {
				if err = mon.Connect("inproc://req-monitor"); err == nil {
					err = h.router.Connect(spec)
				}
			}
		}
	}
	if err == nil && mon != nil {
		mon.SetRcvtimeo(handshakeTimeout)
		if _, _, _, err = mon.RecvEvent(0); err != nil {
			err = fmt.Errorf("connecting to %s: %w", spec, err)
		}
	}
	if mon != nil { // done with it: stop the events before their reader goes
		h.router.Monitor("", 0)
		mon.SetLinger(0)
		mon.Close()
	}
	if err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// Close closes the socket without lingering.
func (h *ReqHandler) Close() {
	if h.router != nil {
		h.router.SetLinger(0)
		h.router.Close()
	}
	h.ctx.Term()
}

// Recv waits for the next request, at most timeout (≤ 0: only looks).
func (h *ReqHandler) Recv(timeout time.Duration) (*ReqRequest, error) {
	h.router.SetRcvtimeo(max(timeout, 0))
	frames, err := h.router.RecvMessageBytes(0)
	if err != nil {
		if zmq.AsErrno(err) == zmq.Errno(11) { // EAGAIN: timed out
			return nil, ErrTimeout
		}
		return nil, err
	}
	// [routing id, "", payload]
	if len(frames) < 3 || len(frames[len(frames)-2]) != 0 {
		return nil, fmt.Errorf("unexpected req frames: %q", frames)
	}
	p, err := DecodePacket(frames[len(frames)-1])
	if err != nil {
		return nil, err
	}
	return &ReqRequest{Packet: p, envelope: frames[:len(frames)-1]}, nil
}

// Reply sends a reply packet back through the request's envelope; "id"
// defaults to the request's.
func (h *ReqHandler) Reply(r *ReqRequest, p map[string]any) error {
	if _, ok := p["id"]; !ok {
		p["id"] = r.Packet["id"]
	}
	parts := make([]any, 0, len(r.envelope)+1)
	for _, f := range r.envelope {
		parts = append(parts, f)
	}
	parts = append(parts, EncodePacket(p))
	_, err := h.router.SendMessage(parts...)
	return err
}
