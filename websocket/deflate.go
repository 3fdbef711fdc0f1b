package websocket

import (
	"github.com/klauspost/compress/flate"
)

// Compression of server messages (RFC 7692 §7.2.1,
// https://www.rfc-editor.org/rfc/rfc7692#section-7.2.1).
const (
	// deflateLevel: klauspost level 1 compresses a 1 KiB JSON message in
	// a fifth of compress/flate's time, 4% larger than its level 5
	// (figures in docs/design.md, "WebSocket compression").
	deflateLevel = 1

	// pieceSlack bounds what each separately compressed piece adds to
	// incompressible input: a stored-block header and a sync flush, 5
	// bytes each. storedSlack is the header of each further stored block
	// (klauspost's are at most 64 KiB; counted per 32 KiB for margin).
	pieceSlack  = 10
	storedSlack = 5
)

// syncTail is the empty stored block a sync flush ends with; RFC 7692
// §7.2.1 removes it from the end of each message and the receiver puts it
// back (§7.2.2).
var syncTail = [4]byte{0x00, 0x00, 0xff, 0xff}

// Deflater compresses the messages a worker sends on all its connections
// with permessage-deflate, with no context takeover (DeflateParams): each
// message, and each fragment of a message, is compressed from an empty
// window, so no state outlives a call and one Deflater serves every
// connection of a worker. It holds about 0.5 MB (klauspost/compress level 1).
// Not safe for concurrent use: one per worker goroutine.
type Deflater struct {
	w   *flate.Writer
	out appendWriter
}

// NewDeflater returns a Deflater. It allocates its compressor once.
func NewDeflater() *Deflater {
	d := &Deflater{}
	d.w, _ = flate.NewWriter(&d.out, deflateLevel) // the level is valid
	return d
}

// CompressBound is the most AppendFragment appends for n input bytes
// compressed with windowBits, so a caller sizing dst with it never makes it
// allocate (TestCompressBound).
func CompressBound(n int, windowBits uint8) int {
	pieces := 1
	if windowBits >= minWindowBits && windowBits < maxWindowBits {
		pieces = max(1, (n+1<<windowBits-1)>>windowBits)
	}
	return len(syncTail) + n + pieceSlack*pieces + storedSlack*(n/(32<<10)+1)
}

// AppendFragment appends the payload of one data frame carrying src, the
// next bytes of a message, compressed; first says whether the frame is the
// message's first (the one with RSV1 set, §6.1), and windowBits is
// DeflateParams.ServerMaxWindowBits (0 for none).
//
// Each call compresses src on its own, ending with a sync flush whose
// 00 00 ff ff tail it leaves out (§7.2.1), so that whichever frame turns out
// to be the last, the message ends as the RFC requires; a frame that is not
// the first starts with the 00 00 ff ff the previous one left out. So a
// message sent whole is one call with first set, one sent as it arrives is
// one call per frame, and nothing is kept between calls. An empty src gives
// a valid payload too (RFC 7692 §7.2.3.6).
//
// With windowBits 8-14, src longer than 1<<windowBits is compressed in
// pieces of that size, each from an empty window, so no match refers
// further back than the client allows (§7.1.2.1).
//
// It does not allocate when dst has CompressBound(len(src), windowBits)
// bytes free.
func (d *Deflater) AppendFragment(dst, src []byte, first bool, windowBits uint8) []byte {
	if !first {
		dst = append(dst, syncTail[:]...)
	}
	piece := len(src)
	if windowBits >= minWindowBits && windowBits < maxWindowBits && piece > 1<<windowBits {
		piece = 1 << windowBits
	}
	d.out.b = dst
	for {
		n := min(piece, len(src))
		d.w.Reset(&d.out)
		d.w.Write(src[:n]) // appendWriter never fails
		d.w.Flush()
		src = src[n:]
		if len(src) == 0 {
			break
		}
	}
	dst = d.out.b
	d.out.b = nil
	return dst[:len(dst)-len(syncTail)]
}

// AppendMessage appends the payload of a whole message sent as one frame:
// src compressed, and compressed true, when that is shorter than src; else
// src itself and compressed false, and the frame goes out without RSV1
// (RFC 7692 §6.1 lets a sender leave any message uncompressed). Short
// messages rarely shrink: the caller may skip calling it for them.
//
// It does not allocate when dst has CompressBound(len(src), windowBits)
// bytes free.
func (d *Deflater) AppendMessage(dst, src []byte, windowBits uint8) (out []byte, compressed bool) {
	n := len(dst)
	dst = d.AppendFragment(dst, src, true, windowBits)
	if len(dst)-n < len(src) {
		return dst, true
	}
	return append(dst[:n], src...), false
}

// appendWriter is the io.Writer the compressor writes into: it appends to
// the caller's slice.
type appendWriter struct{ b []byte }

func (a *appendWriter) Write(p []byte) (int, error) {
	a.b = append(a.b, p...)
	return len(p), nil
}
