package server

import (
	"time"

	"github.com/condure-go/condure/http1"
	"github.com/condure-go/condure/internal/logging"
	"github.com/condure-go/condure/websocket"
	"github.com/condure-go/condure/zhttp"
)

// permessage-deflate on WebSocket sessions (--compression, RFC 7692;
// docs/design.md "WebSocket compression"). No compression state outlives a
// message: the worker holds one Deflater for all its connections and lends
// Inflaters from a bounded pool to messages in flight, so a session keeps
// only a few bits of its flags: the negotiated window, the lent Inflater's
// id, and where its message is.

// inflaterPoolSize: Inflaters per worker (about 41 KiB each once lent, so at
// most ~10 MiB per worker); past it, compressed client messages wait for one
// to be returned (their connection is not read meanwhile), as for credits.
const inflaterPoolSize = 256

// Session flag bits 9-25 (bits 26 and up are the control budget, ws.go).
const (
	fInflText     sessFlag = 1 << 9  // the message being inflated is text (checked as UTF-8)
	fInflLast     sessFlag = 1 << 10 // the message's last compressed byte went to the Inflater: only output remains
	fInflHeld     sessFlag = 1 << 11 // inflated bytes the handler's gate refused wait in bbuf (blen bytes)
	fInflHeldDone sessFlag = 1 << 12 // the held bytes end the message
	wsWinShift             = 13      // 4 bits: server_max_window_bits (8-15), 0 = none asked
	wsWinMask     sessFlag = 0xf << wsWinShift
	wsInflShift            = 17 // 9 bits: the lent InflaterID, 0 = none
	wsInflMask    sessFlag = 0x1ff << wsInflShift
)

// The pool's ids must fit the flag bits.
const _ = uint(wsInflMask>>wsInflShift - inflaterPoolSize)

func wsInflID(s *session) websocket.InflaterID {
	return websocket.InflaterID(s.flags & wsInflMask >> wsInflShift)
}

func wsWindowBits(s *session) uint8 { return uint8(s.flags & wsWinMask >> wsWinShift) }

// initDeflate makes the worker's compression state (only with --compression).
func (w *Worker) initDeflate() {
	if !w.opts.Compression {
		return
	}
	w.deflater = websocket.NewDeflater()
	w.infl = websocket.NewInflaterPool(inflaterPoolSize)
	w.inflBuf = make([]byte, w.opts.BufferSize)
	w.dscratch = make([]byte, 0, 16+websocket.CompressBound(w.opts.BufferSize, 8))
}

// wsNegotiate takes the first acceptable permessage-deflate offer of the
// upgrade request, with --compression; call it after s.reader.Reset.
func (w *Worker) wsNegotiate(s *session, headers []http1.Header) {
	if !w.opts.Compression {
		return
	}
	p, ok := websocket.NegotiateDeflate(headers)
	if !ok {
		return
	}
	s.reader.Deflate = true
	s.flags = s.flags&^wsWinMask | sessFlag(p.ServerMaxWindowBits)<<wsWinShift
}

// appendDeflateExt appends the Sec-WebSocket-Extensions value answering
// the offer taken, or nothing when none was.
func appendDeflateExt(dst []byte, s *session) []byte {
	if !s.reader.Deflate {
		return dst
	}
	return websocket.AppendDeflateResponse(dst, websocket.DeflateParams{ServerMaxWindowBits: wsWindowBits(s)})
}

// wsDeflateFrames writes payload, the next bytes of a data message, to
// the client compressed (sessions with compression negotiated). The payload
// is compressed in pieces of at most --buffer-size, each its own frame, so
// the output always fits w.dscratch (CompressBound of --buffer-size, made
// once) whatever the handler sends: nothing allocates. A message that fits
// one piece is sent compressed only if that makes it smaller; the frames of
// a message sent in pieces are all compressed, RSV1 on the first only
// (RFC 7692 §6.1). It returns false if the connection was closed.
func (w *Worker) wsDeflateFrames(cs int32, c *conn, s *session, op websocket.Opcode, fin bool, payload []byte) bool {
	bits := wsWindowBits(s)
	for {
		piece := payload[:min(len(payload), w.opts.BufferSize)]
		payload = payload[len(piece):]
		last := fin && len(payload) == 0
		var body []byte
		switch {
		case op != websocket.OpContinuation && last:
			out, compressed := w.deflater.AppendMessage(w.dscratch[:0], piece, bits)
			if compressed {
				w.frame = websocket.AppendCompressedFrameHeader(w.frame[:0], true, op, len(out))
			} else {
				w.frame = websocket.AppendFrameHeader(w.frame[:0], true, op, len(out))
			}
			body = out
		case op != websocket.OpContinuation:
			body = w.deflater.AppendFragment(w.dscratch[:0], piece, true, bits)
			w.frame = websocket.AppendCompressedFrameHeader(w.frame[:0], last, op, len(body))
		default:
			body = w.deflater.AppendFragment(w.dscratch[:0], piece, false, bits)
			w.frame = websocket.AppendFrameHeader(w.frame[:0], last, op, len(body))
		}
		w.iov = append(w.iov[:0], w.frame, body)
		if !w.wsWrite(s, c, w.iov) {
			return false
		}
		if len(payload) == 0 {
			return true
		}
		op = websocket.OpContinuation
	}
}

// inflPut returns the session's Inflater, if it has one, and wakes the
// sessions waiting for one.
func (w *Worker) inflPut(s *session) {
	id := wsInflID(s)
	s.flags &^= wsInflMask | fInflLast | fInflText
	if id == 0 {
		return
	}
	w.infl.Put(id)
	if w.gate(gateInfl).head != 0 {
		w.bp.signalled = true // retryGates runs the waiters on the next pass
	}
}

// wsInflPending reports inflated output still to pass to the handler
// without reading the client: held bytes, or the end of a message.
func wsInflPending(s *session) bool { return s.flags&(fInflLast|fInflHeld) != 0 }

// inflStep is what wsRead and h2wsParse do after wsBeforeFrame.
type inflStep uint8

const (
	inflNone inflStep = iota // nothing pending: read the client
	inflMore                 // progress: go round again
	inflStop                 // waiting (credits, a gate) or closed
)

// wsInflatePending passes on what a compressed message has left without
// reading the client: bytes a gate refused, then the output of a message
// whose compressed bytes have all been given to the Inflater.
func (w *Worker) wsInflatePending(ss int32, s *session, c *conn) inflStep {
	if s.has(fInflHeld) {
		body := w.bodyBufs.bytes(s.bbuf)[:s.blen]
		if !w.wsInflSend(ss, s, body, s.has(fInflHeldDone)) {
			return inflStop
		}
		s.flags &^= fInflHeld | fInflHeldDone
		w.bodyBufs.put(s.bbuf)
		s.bbuf, s.blen = 0, 0
		return inflMore
	}
	if !s.has(fInflLast) {
		return inflNone
	}
	room := int(min(s.credits, int64(w.opts.BufferSize)))
	if room <= 0 {
		return inflStop // credits will queue us (wsPacket)
	}
	nOut, _, done, err := w.infl.At(wsInflID(s)).Inflate(w.inflBuf[:room], nil, true)
	if err != nil {
		w.inflPut(s)
		w.wsProtocolError(ss, s, c, err)
		return inflStop
	}
	if !w.wsInflSend(ss, s, w.inflBuf[:nOut], done) {
		return inflStop
	}
	return inflMore
}

// wsInflateEvent passes on ev, a chunk of a compressed client message that
// Next returned from buf[:n] (the reader was before): inflated into a packet
// body within the credits. What the Inflater did not take stays in the read
// buffer (rstart counts what is consumed). It returns false when wsRead must stop.
func (w *Worker) wsInflateEvent(ss int32, s *session, c *conn, buf []byte, n int, ev websocket.Event, before websocket.Reader, rstart *int32) bool {
	room := int(min(s.credits, int64(w.opts.BufferSize)))
	if room <= 0 || wsCtlSpent(s) {
		s.reader.Unread(buf, n, ev, before)
		return false
	}
	id := wsInflID(s)
	if id == 0 {
		text := ev.Opcode == websocket.OpText
		if id = w.infl.Get(int64(w.opts.WSMaxMessage), text); id == 0 {
			s.reader.Unread(buf, n, ev, before)
			w.block(gateInfl)
			w.wait(ss, gateInfl)
			if logging.Enabled(logging.LevelDebug) && w.logs.inflWait.Allow(time.Now()) {
				logging.Debug(targetConn, "worker %d: all %d inflaters lent: compressed messages wait%s", w.idx, inflaterPoolSize, w.logs.inflWait.Note())
			}
			return false
		}
		s.flags |= sessFlag(id) << wsInflShift
		if text {
			s.flags |= fInflText
		}
	}
	nOut, nIn, done, err := w.infl.At(id).Inflate(w.inflBuf[:room], ev.Payload, ev.Fin)
	if err != nil {
		w.inflPut(s)
		w.wsProtocolError(ss, s, c, err)
		return false
	}
	if nIn < len(ev.Payload) {
		// The body filled first: only the bytes taken are consumed.
		s.reader.Unread(buf, n, ev, before)
		_, n, _ = s.reader.Next(buf, max(nIn, 0)) // the same bytes: no error
	} else if ev.Fin {
		s.flags |= fInflLast
	}
	*rstart += int32(n)
	if nOut == 0 && !done {
		return n > 0 // no progress at all would spin (it takes a full body)
	}
	return w.wsInflSend(ss, s, w.inflBuf[:nOut], done)
}

// wsInflSend sends inflated bytes to the handler as a data packet, the last
// of its message when done (then the Inflater goes back). When the handler's
// gate refuses, the bytes are kept in a body block and the session waits.
func (w *Worker) wsInflSend(ss int32, s *session, body []byte, done bool) bool {
	o := w.resetOut(ss, s)
	o.ContentType = contentTypeBinary
	if s.has(fInflText) {
		o.ContentType = contentTypeText
	}
	o.Body = body
	o.More = !done
	w.pktBuf = zhttp.AppendPacket(w.pktBuf[:0], o)
	if g := w.sendTo(s.addr, w.pktBuf); g != 0 {
		if !s.has(fInflHeld) {
			if s.bbuf == 0 {
				s.bbuf = w.bodyBufs.get(w.opts.BufferSize)
			}
			s.blen = int32(copy(w.bodyBufs.bytes(s.bbuf), body))
			s.flags |= fInflHeld
			if done {
				s.flags |= fInflHeldDone
			}
		}
		w.wait(ss, g)
		return false
	}
	s.outSeq++
	s.credits -= int64(len(body))
	if len(body) == 0 {
		s.flags += 1 << wsCtlShift // an empty message costs no credit
	}
	if done {
		w.inflPut(s)
	}
	return true
}
