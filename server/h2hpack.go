package server

import (
	"errors"

	"github.com/condure-go/condure/http2"
)

// The server's side of HPACK (docs/design.md "HTTP/2"): the decoder of a
// connection lives in its pointer-free block with the table storage it is
// lent; the encoder keeps no state.

// hpackDecode decodes block with connection c's decoder; fn sees each field
// (name and value valid only during the call). tooLarge reports a header
// list over --buffer-size (the connection can go on: 431).
func (w *Worker) hpackDecode(c *conn, block []byte, fn func(name, value []byte) error) (tooLarge bool, err error) {
	h := w.h2(c)
	storage := h.table[:]
	if !h.dec.Fits(len(storage)) {
		// The client may still use a 4096-byte table: decode in a lent block.
		if h.big == 0 {
			h.big = w.h2big.get(h2BigTableLen)
			h.dec.Move(w.h2big.bytes(h.big), storage)
		}
		storage = w.h2big.bytes(h.big)
	}
	err = h.dec.Decode(storage, block, w.h2hpack[:0], func(name, value []byte, sensitive bool) error {
		return fn(name, value)
	})
	if h.big != 0 && h.dec.Pack(h.table[:], storage) { // back home when what it holds fits
		w.h2big.put(h.big)
		h.big = 0
	}
	if errors.Is(err, http2.ErrHeaderListTooLarge) {
		return true, nil
	}
	return false, err
}

// hpackAppend appends one response field to an HPACK block (the name is
// lower-cased on the way).
func hpackAppend(dst []byte, name, value []byte) []byte { return http2.AppendField(dst, name, value) }
