package server

import (
	"github.com/condure-go/condure/http2"
	"github.com/condure-go/condure/zhttp"
)

// Req-mode HTTP/2 streams (reference.md §4.3 over frames): the stream's
// window is opened to --body-buffer-size at once, the body is gathered in a
// body block, the whole request goes on the DEALER, and the one reply is
// the response. --req-timeout bounds each stream (its session timer).
//
//	new ─ h2StartReq ─ (h2GatherBody …) ─ h2SendReq ─► await-response ─ h2ReqReply ─► send-body ─ h2Body ─► h2StreamDone

// h2StartReq begins a req-mode stream whose HEADERS are decoded.
func (w *Worker) h2StartReq(ss int32, s *session, c *conn) bool {
	s.flags |= fH2Req
	if s.has(fH2CL) && s.bodyLeft > int64(w.opts.BodyBufferSize) {
		w.h2Respond(ss, s, c, 413, "Payload Too Large")
		return w.conns.InUse(s.conn)
	}
	w.timers.Schedule(w.sessTimer(ss), w.now+w.reqTicks)
	if s.has(fH2PeerEnd) {
		return w.h2SendReq(ss, s, c)
	}
	// Keep the head beside the body until the whole request is here: the
	// request is built again from the block (h2SendReq).
	s.bbuf = w.bodyBufs.get(w.opts.BufferSize + w.opts.BodyBufferSize)
	buf := w.bodyBufs.bytes(s.bbuf)
	s.hlen = int32(len(keepHead(buf[:0], &w.h2req)))
	s.blen = s.hlen
	w.h2ctl = http2.AppendWindowUpdate(w.h2ctl, s.h2().id, uint32(w.opts.BodyBufferSize))
	return true
}

// h2GatherBody adds DATA bytes of a req-mode stream to its body block.
func (w *Worker) h2GatherBody(ss int32, s *session, c *conn, h *h2conn, in []byte) bool {
	if int(s.blen-s.hlen)+len(in) > w.opts.BodyBufferSize {
		n := uint32(len(in)) // within the frame's data: the rest (and padding) is consumed as skipped
		w.h2Consumed(h, n)
		c.rstart += int32(n)
		h.frameStream = 0 // the rest is skipped
		h.frameLeft -= n
		if h.frameLeft == 0 {
			h.inFrame = false
		}
		w.h2Respond(ss, s, c, 413, "Payload Too Large")
		return w.conns.InUse(s.conn)
	}
	buf := w.bodyBufs.bytes(s.bbuf)
	s.blen += int32(copy(buf[s.blen:], in))
	c.rstart += int32(len(in))
	h.frameLeft -= uint32(len(in))
	w.h2Consumed(h, uint32(len(in)))
	if s.has(fH2CL) {
		s.bodyLeft -= int64(len(in))
	}
	if h.frameLeft == 0 {
		h.inFrame = false
		if h.frameEnd {
			return w.h2SendReq(ss, s, c)
		}
	}
	return true
}

// h2SendReq sends a req-mode stream's whole request on the DEALER; with a
// body, its head is read back from the block (keepHead).
func (w *Worker) h2SendReq(ss int32, s *session, c *conn) bool {
	var body []byte
	if s.bbuf != 0 {
		body = w.bodyBufs.bytes(s.bbuf)[s.hlen:s.blen]
	}
	r := &w.h2req
	if s.bbuf != 0 {
		readHead(w.bodyBufs.bytes(s.bbuf)[:s.hlen], r)
	}
	req := &w.req
	req.Method, req.Target, req.Host, req.Headers = r.method, r.path, r.authority, r.headers
	o, ok := w.requestOut(ss, s, c, req, w.listeners[c.listener].scheme)
	if !ok {
		return w.conns.InUse(s.conn)
	}
	o.From, o.NoSeq, o.Body = nil, true, body
	w.pktBuf = zhttp.AppendPacket(w.pktBuf[:0], o)
	w.bodyBufs.put(s.bbuf)
	s.bbuf, s.blen, s.hlen = 0, 0, 0
	if !w.sendReq(w.pktBuf) {
		return w.h2StreamError(s.conn, c, s.h2().id, http2.ErrRefusedStream)
	}
	s.flags |= fReqDone
	s.toH2(h2AwaitResponse)
	w.mRequest(ss, c)
	return true
}

// h2ReqReply applies the handler's reply to a req-mode stream: only a data
// packet counts (§3.4); its body is the whole response.
func (w *Worker) h2ReqReply(ss int32, s *session, c *conn, p *zhttp.Packet) {
	if p.Type != zhttp.TypeData {
		return
	}
	cs := s.conn
	p.More = false
	w.h2StartResponse(ss, s, c, p)
	if w.conns.InUse(cs) && c.has(fH2) {
		w.h2Flush(cs, c)
	}
}

// keepHead writes the decoded head r to dst (which has room: the head was
// decoded within --buffer-size), as length-prefixed strings: method, path,
// authority, then name and value of each header.
func keepHead(dst []byte, r *h2Request) []byte {
	put := func(b []byte) {
		dst = append(dst, byte(len(b)>>8), byte(len(b)))
		dst = append(dst, b...)
	}
	put(r.method)
	put(r.path)
	put(r.authority)
	for _, hd := range r.headers {
		put(hd.Name)
		put(hd.Value)
	}
	return dst
}

// readHead reads back what keepHead wrote, into r (views into b).
func readHead(b []byte, r *h2Request) {
	get := func() []byte {
		n := int(b[0])<<8 | int(b[1])
		v := b[2 : 2+n : 2+n]
		b = b[2+n:]
		return v
	}
	r.method, r.path, r.authority = get(), get(), get()
	r.headers = r.headers[:0]
	for len(b) > 0 {
		name := get()
		r.headers = append(r.headers, zhttp.Header{Name: name, Value: get()})
	}
}
