package server

import (
	"time"

	"github.com/condure-go/condure/internal/logging"
)

// peerLogInterval: a line a client or a handler can trigger per packet or
// per connection is written at most this often; the next one says how
// many were suppressed meanwhile.
const peerLogInterval = time.Second

// peerLogs are a worker's limiters, one per such line (worker thread only).
type peerLogs struct {
	maxConn      *logging.Limiter // listener paused at maxconn
	fdLimit      *logging.Limiter // accept hit EMFILE/ENFILE
	accept       *logging.Limiter // accept errors other than EAGAIN/EMFILE
	epollAdd     *logging.Limiter // a new connection's fd refused by epoll
	zmqRecv      *logging.Limiter // receive errors on a handler socket
	sendTo       *logging.Limiter // "stream zmq send to" (Host unreachable: a handler's bad from)
	sendOut      *logging.Limiter // request PUSH errors
	sendReq      *logging.Limiter // req DEALER errors
	noAddr       *logging.Limiter // handler message without "<instance> "
	notForUs     *logging.Limiter // handler message for another instance
	parse        *logging.Limiter // zhttp parse errors in handler packets
	ids          *logging.Limiter // handler packets whose ids do not parse
	reqNoPayload *logging.Limiter // req reply without a payload frame
	badResponse  *logging.Limiter // handler response refused (§12 #10)
	closeCode    *logging.Limiter // handler close code replaced by 1011
	closeReason  *logging.Limiter // handler close reason not UTF-8
	endedOver    *logging.Limiter // cancels for ended sessions over their budget (ended.go)
	inflWait     *logging.Limiter // compressed messages waiting for an Inflater (ws_deflate.go)
	h2Peer       *logging.Limiter // HTTP/2 protocol errors of clients (h2conn.go)
}

func newPeerLogs() peerLogs {
	l := func() *logging.Limiter { return logging.NewLimiter(peerLogInterval) }
	return peerLogs{maxConn: l(), fdLimit: l(), accept: l(), epollAdd: l(), zmqRecv: l(), sendTo: l(), sendOut: l(), sendReq: l(),
		noAddr: l(), notForUs: l(), parse: l(), ids: l(), reqNoPayload: l(), badResponse: l(), closeCode: l(), closeReason: l(), endedOver: l(),
		inflWait: l(), h2Peer: l()}
}

// sendToError logs a failed send to a handler's address, typically Host
// unreachable: a handler whose ROUTER identity is not the from it sends
// makes every later packet of its sessions fail (reference.md §2.1).
func (w *Worker) sendToError(err error) {
	if l := w.logs.sendTo; l.Allow(time.Now()) {
		logging.Error(targetServer, "stream zmq send to: %v%s", err, l.Note())
	}
}

// packetError logs a handler packet body that does not parse: as the hub
// does when not even its ids can be read (so bind mode says the same with
// or without the hub), else as a zhttp parse error.
func (w *Worker) packetError(body []byte, err error) {
	if idErr := w.pkt.ParseIDs(body); idErr != nil {
		if l := w.logs.ids; l.Allow(time.Now()) {
			logging.Warn(targetServer, "worker %d: unable to determine packet id(s): %v%s", w.idx, idErr, l.Note())
		}
		return
	}
	w.parseError(err)
}

// parseError logs a handler packet that does not parse (§3.6).
func (w *Worker) parseError(err error) {
	if l := w.logs.parse; l.Allow(time.Now()) {
		logging.Warn(targetServer, "worker %d: zhttp parse error: %v%s", w.idx, err, l.Note())
	}
}

// epollAddError logs a new connection epoll refused (out of watches).
func (w *Worker) epollAddError(err error) {
	if l := w.logs.epollAdd; l.Allow(time.Now()) {
		logging.Error(targetServer, "worker %d: epoll add: %v%s", w.idx, err, l.Note())
	}
}

// badResponseLog logs a handler response refused (§12 #10).
func (w *Worker) badResponseLog(slot int32, why string) {
	if l := w.logs.badResponse; l.Allow(time.Now()) {
		logging.Warn(targetConn, "worker %d: conn %d: bad response from handler: %s%s", w.idx, slot, why, l.Note())
	}
}

// closeCodeLog logs an invalid handler close code replaced by 1011 (§12 #16).
func (w *Worker) closeCodeLog(slot int32, code int) {
	if l := w.logs.closeCode; l.Allow(time.Now()) {
		logging.Info(targetConn, "worker %d: conn %d: handler close code %d replaced by 1011%s", w.idx, slot, code, l.Note())
	}
}

// closeReasonLog logs a handler close reason dropped for not being UTF-8.
func (w *Worker) closeReasonLog(slot int32) {
	if l := w.logs.closeReason; l.Allow(time.Now()) {
		logging.Info(targetConn, "worker %d: conn %d: handler close reason is not UTF-8, dropped%s", w.idx, slot, l.Note())
	}
}

// maxConnLog logs that listeners of mode m stopped accepting at maxconn
// (§12 #1): clients wait in the kernel backlog.
func (w *Worker) maxConnLog(m int) {
	if l := w.logs.maxConn; l.Allow(time.Now()) {
		logging.Info(targetServer, "worker %d: at maxconn (%d), not accepting%s", w.idx, w.maxOpen[m], l.Note())
	}
}

// fdLimitLog logs that accept ran out of file descriptors.
func (w *Worker) fdLimitLog() {
	if l := w.logs.fdLimit; l.Allow(time.Now()) {
		logging.Error(targetServer, "worker %d: accept: too many open files, backing off%s", w.idx, l.Note())
	}
}

// acceptError logs an accept failure other than EAGAIN and EMFILE.
func (w *Worker) acceptError(err error) {
	if l := w.logs.accept; l.Allow(time.Now()) {
		logging.Warn(targetServer, "worker %d: accept: %v%s", w.idx, err, l.Note())
	}
}

// zmqRecvError logs a receive error on a handler socket.
func (w *Worker) zmqRecvError(err error) {
	if l := w.logs.zmqRecv; l.Allow(time.Now()) {
		logging.Error(targetServer, "worker %d: zmq recv: %v%s", w.idx, err, l.Note())
	}
}

// sendOutError logs a request PUSH failure.
func (w *Worker) sendOutError(err error) {
	if l := w.logs.sendOut; l.Allow(time.Now()) {
		logging.Error(targetServer, "stream zmq send: %v%s", err, l.Note())
	}
}

// sendReqError logs a req DEALER failure.
func (w *Worker) sendReqError(err error) {
	if l := w.logs.sendReq; l.Allow(time.Now()) {
		logging.Error(targetServer, "req zmq send: %v%s", err, l.Note())
	}
}

// reqNoPayloadLog logs a req reply with nothing after the envelope (§2.2).
func (w *Worker) reqNoPayloadLog() {
	if l := w.logs.reqNoPayload; l.Allow(time.Now()) {
		logging.Error(targetServer, "worker %d: req: reply without a payload after the envelope%s", w.idx, l.Note())
	}
}

// noAddrLog logs a handler message without "<instance-id> " (§2.3).
func (w *Worker) noAddrLog() {
	if l := w.logs.noAddr; l.Allow(time.Now()) {
		logging.Warn(targetServer, "worker %d: unable to determine packet address%s", w.idx, l.Note())
	}
}

// notForUsLog logs a handler message addressed to another instance (§2.3).
func (w *Worker) notForUsLog() {
	if l := w.logs.notForUs; l.Allow(time.Now()) {
		logging.Warn(targetServer, "worker %d: packet not for us%s", w.idx, l.Note())
	}
}
