package server

import "github.com/condure-go/condure/http2"

// Defences of an HTTP/2 connection against clients that make the server
// work for nothing (docs/design.md "HTTP/2", "Limits and defences"). Each
// is a budget refilled per tick; a client that spends it gets GOAWAY
// ENHANCE_YOUR_CALM and the connection closes.

const (
	// h2CtlBudget: frames that carry no request and cost work (SETTINGS,
	// PING, empty DATA or CONTINUATION, errors we answer) a client may send
	// in a burst; h2CtlRefill more per 10 ms tick (10000/s sustained).
	h2CtlBudget = 1000
	h2CtlRefill = 100
	// h2RstBudget: streams a client may reset (each one cost a request to a
	// handler) in a burst; h2RstRefill more per tick (100/s sustained):
	// the rapid-reset attack (CVE-2023-44487) resets thousands per second.
	h2RstBudget = 200
	h2RstRefill = 1
)

// h2Refill tops the budgets up for the ticks elapsed since the last.
func (w *Worker) h2Refill(h *h2conn) {
	if d := w.now - h.tokTick; d > 0 {
		h.tokTick = w.now
		h.ctlTokens = int32(min(int64(h.ctlTokens)+int64(d)*h2CtlRefill, h2CtlBudget))
		h.rstTokens = int32(min(int64(h.rstTokens)+int64(d)*h2RstRefill, h2RstBudget))
	}
}

// h2Spend takes one control-frame token. False if the connection was
// closed for a flood.
func (w *Worker) h2Spend(cs int32, c *conn, h *h2conn) bool {
	w.h2Refill(h)
	if h.ctlTokens--; h.ctlTokens < 0 {
		w.h2ConnError(cs, c, http2.ErrEnhanceYourCalm, "flood of control frames")
		return false
	}
	return true
}

// h2SpendReset takes one reset token. False if the connection was closed
// for a rapid-reset flood.
func (w *Worker) h2SpendReset(cs int32, c *conn, h *h2conn) bool {
	w.h2Refill(h)
	if h.rstTokens--; h.rstTokens < 0 {
		w.h2ConnError(cs, c, http2.ErrEnhanceYourCalm, "rapid reset")
		return false
	}
	return true
}
