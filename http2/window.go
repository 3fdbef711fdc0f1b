package http2

// Window is a flow-control window (RFC 9113 §6.9): the bytes one side may
// still send on a stream or on the connection. It can go negative when the
// peer lowers SETTINGS_INITIAL_WINDOW_SIZE (§6.9.2) and never exceeds
// MaxWindowSize; every operation refuses, leaving the window unchanged,
// what would break those bounds, and the caller turns the refusal into the
// error the RFC names (see each method).
type Window int32

// Add credits n bytes (a WINDOW_UPDATE increment, or bytes the receiver
// hands back). It reports false if the result would exceed 2^31-1: a
// FLOW_CONTROL_ERROR, as a stream error for a stream window and a
// connection error for the connection window (§6.9.1).
func (w *Window) Add(n uint32) bool {
	v := int64(*w) + int64(n)
	if v > MaxWindowSize {
		return false
	}
	*w = Window(v)
	return true
}

// Take debits n bytes of DATA (the whole frame length, padding included,
// §6.9.1). It reports false if the window holds fewer than n: on a receive
// window that is the peer overrunning it, a FLOW_CONTROL_ERROR; on a send
// window the caller must send less (see Avail). Taking 0 always succeeds
// (an empty DATA frame is legal whatever the window).
func (w *Window) Take(n uint32) bool {
	if n > 0 && int64(*w) < int64(n) {
		return false
	}
	*w -= Window(n)
	return true
}

// Avail returns how many bytes may be sent now: the window, or 0 when it
// is negative.
func (w Window) Avail() uint32 {
	if w < 0 {
		return 0
	}
	return uint32(w)
}

// Adjust applies a change of SETTINGS_INITIAL_WINDOW_SIZE from oldInit to
// newInit to a stream's send window (§6.9.2): it moves by the difference.
// It reports false if the result would exceed 2^31-1 (a connection error
// FLOW_CONTROL_ERROR) or fall below -2^31 (impossible with valid settings).
func (w *Window) Adjust(oldInit, newInit uint32) bool {
	v := int64(*w) + int64(newInit) - int64(oldInit)
	if v > MaxWindowSize || v < -1<<31 {
		return false
	}
	*w = Window(v)
	return true
}
