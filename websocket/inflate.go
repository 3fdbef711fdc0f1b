package websocket

// Inflation of client messages (RFC 7692 §7.2.2,
// https://www.rfc-editor.org/rfc/rfc7692#section-7.2.2): a DEFLATE decoder
// (RFC 1951, https://www.rfc-editor.org/rfc/rfc1951) that takes its input in
// pieces, as frames and reads deliver it, and writes into the caller's
// bounded buffer. compress/flate and klauspost/compress pull their input
// from an io.Reader and fail for good when it runs dry, so they cannot
// pause in the middle of a message without a goroutine or a copy of the
// whole compressed message; this one stops wherever its input or its
// output runs out and resumes there.
const (
	// inflateWindow: the server never lowers client_max_window_bits,
	// so a client may refer 32 KiB back (RFC 7692 §7.1.2.2).
	inflateWindow = 1 << maxWindowBits
	maxCodeBits   = 15               // RFC 1951 §3.2.2
	numLitLen     = 288              // literal/length alphabet, 286-287 unused (§3.2.5)
	numDist       = 32               // distance alphabet, 30-31 unused (§3.2.5)
	numCodeLen    = 19               // code length alphabet (§3.2.7)
	maxLenDist    = 15 + 5 + 15 + 13 // a length code and a distance code with their extra bits, decoded at once
)

// Decoder states, between calls.
const (
	stHeader     uint8 = iota // next: a block header (§3.2.3)
	stStoredLen               // next: LEN and NLEN of a stored block (§3.2.4)
	stStored                  // inside a stored block's data
	stDynHeader               // next: HLIT, HDIST, HCLEN (§3.2.7)
	stCodeLenLen              // reading the code length code lengths
	stCodeLens                // reading the literal/length and distance code lengths
	stCodes                   // inside a Huffman-coded block
	stDone                    // after the block with BFINAL set: the rest is ignored
)

// The Inflater's errors. The server closes with Code.
var (
	errInflateData   = &ProtocolError{CloseInvalidData, "invalid compressed data"}
	errInflateTooBig = &ProtocolError{CloseTooBig, "message too big once inflated"}
	errInflateUTF8   = &ProtocolError{CloseInvalidData, "invalid UTF-8 in compressed text message"}
)

// Fixed Huffman tables (RFC 1951 §3.2.6) and the length and distance bases
// and extra bits (§3.2.5).
var (
	fixedLit, fixedDist huffman
	lenBase             = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra            = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase            = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra           = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	codeLenOrder        = [numCodeLen]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

func init() {
	var l [numLitLen]uint8
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	fixedLit.build(l[:])
	var d [numDist]uint8
	for i := range d {
		d[i] = 5
	}
	fixedDist.build(d[:])
}

// huffman is a canonical Huffman code (RFC 1951 §3.2.2) as counts per
// length and symbols in code order.
type huffman struct {
	count  [maxCodeBits + 1]uint16
	symbol [numLitLen]uint16
	// fast maps the next fastBits bits of input (LSB first) to the
	// symbol<<4 | length of a code that short, 0 when the code is longer.
	fast [1 << fastBits]uint16
}

// fastBits: codes up to 9 bits, most literals of a dynamic block, decode
// with one lookup.
const fastBits = 9

// build makes h from code lengths (0 = unused symbol). It reports false for
// an over-subscribed set, or an incomplete one other than a single code of
// length 1 (zlib accepts that, and no codes at all, for distances). A
// table with no codes decodes nothing.
func (h *huffman) build(lengths []uint8) bool {
	h.count = [maxCodeBits + 1]uint16{}
	for _, l := range lengths {
		h.count[l]++
	}
	h.fast = [1 << fastBits]uint16{}
	if int(h.count[0]) == len(lengths) {
		return true
	}
	left := 1
	maxLen := 0
	for l := 1; l <= maxCodeBits; l++ {
		left = left<<1 - int(h.count[l])
		if left < 0 {
			return false
		}
		if h.count[l] != 0 {
			maxLen = l
		}
	}
	if left > 0 && maxLen != 1 {
		return false
	}
	var offs [maxCodeBits + 2]uint16
	for l := 1; l <= maxCodeBits; l++ {
		offs[l+1] = offs[l] + h.count[l]
	}
	for s, l := range lengths {
		if l != 0 {
			h.symbol[offs[l]] = uint16(s)
			offs[l]++
		}
	}
	// Fast table: walk the codes of each length in canonical order.
	code, index := 0, 0
	for l := 1; l <= fastBits; l++ {
		for k := 0; k < int(h.count[l]); k++ {
			rev := reverseBits(code, l)
			for fill := rev; fill < 1<<fastBits; fill += 1 << l {
				h.fast[fill] = h.symbol[index]<<4 | uint16(l)
			}
			code++
			index++
		}
		code <<= 1
	}
	return true
}

// reverseBits reverses the low n bits of v: Huffman codes are sent most
// significant bit first into an LSB-first stream (RFC 1951 §3.1.1).
func reverseBits(v, n int) int {
	r := 0
	for i := 0; i < n; i++ {
		r = r<<1 | v&1
		v >>= 1
	}
	return r
}

// decode decodes one symbol from the nbits bits of b (LSB first). It
// returns the symbol and the bits it used; used 0 means b holds too few
// bits to tell, used -1 that the bits are no code of h.
func (h *huffman) decode(b uint64, nbits uint) (sym int, used int) {
	if e := h.fast[b&(1<<fastBits-1)]; e != 0 {
		if uint(e&15) > nbits {
			return 0, 0
		}
		return int(e >> 4), int(e & 15)
	}
	code, first, index := 0, 0, 0
	for l := 1; l <= maxCodeBits; l++ {
		if uint(l) > nbits {
			return 0, 0
		}
		code |= int(b>>(l-1)) & 1
		count := int(h.count[l])
		if code-count < first {
			return int(h.symbol[index+code-first]), l
		}
		index += count
		first = (first + count) << 1
		code <<= 1
	}
	return 0, -1
}

// Inflater decodes the payload of one compressed client message at a time,
// as it arrives, from an empty window (the server negotiates
// client_no_context_takeover, see DeflateParams). It holds a 32 KiB window
// and its Huffman tables, about 36 KiB in all, so a worker keeps a bounded
// set of them in an InflaterPool and lends one to a connection only while a
// compressed message is in flight. Not safe for concurrent use.
type Inflater struct {
	bits      uint64 // input bits not yet used, LSB first
	nbits     uint   // number of valid bits in bits
	state     uint8
	final     bool  // the current block has BFINAL set
	tailUsed  uint8 // bytes of syncTail fed after the message's last byte
	last      bool  // Inflate was called with last
	err       *ProtocolError
	text      bool     // validate the output as UTF-8
	utf8      UTF8     // validation state of a text message
	max       int64    // output limit for the message, 0 = none
	total     int64    // bytes output so far in the message
	copyLen   int      // bytes of a match still to copy
	copyDist  int      // distance of that match
	stored    int      // bytes of the stored block still to copy
	hlit      int      // number of literal/length codes (dynamic header)
	hdist     int      // number of distance codes
	hclen     int      // number of code length codes
	idx       int      // next code length to read
	wpos      int      // next write position in window
	distLimit int      // tests: refuse matches further back (0 = the window)
	lit       *huffman // the current block's tables: fixed, or dynLit/dynDist
	dist      *huffman
	dynLit    huffman
	dynDist   huffman
	lens      [numLitLen + numDist]uint8
	window    [inflateWindow]byte
}

// Reset readies f for a new message whose inflated size may not exceed
// max bytes (0 or less: no limit; the server passes --ws-max-message).
// With text, the inflated bytes are checked to be UTF-8 (RFC 6455 §8.1),
// which the Reader cannot do on compressed bytes.
func (f *Inflater) Reset(max int64, text bool) {
	f.bits, f.nbits, f.state, f.final, f.tailUsed, f.last, f.err = 0, 0, stHeader, false, 0, false, nil
	f.text, f.utf8 = text, UTF8{}
	f.max, f.total, f.copyLen, f.stored, f.wpos = max, 0, 0, 0, 0
}

// Total is the number of bytes inflated so far in the message.
func (f *Inflater) Total() int64 { return f.total }

// Inflate decodes from src, the next bytes of the message's compressed
// payload (the frames' payloads concatenated, unmasked), into dst. last says
// that src ends the message (it ends the message's final frame); the
// 00 00 ff ff tail the sender removed is then put back (§7.2.2).
//
// It returns the bytes written to dst and read from src, and done once the
// message is wholly inflated (only with last; then nIn == len(src)). It
// stops early when dst is full: call again with the rest of src (src[nIn:])
// and fresh room. last is remembered: once given, later calls (say with an
// empty src, when the handler grants credits) go on to the end of the
// message. Bits read but not yet decoded are kept, so a call may consume
// input and write nothing.
//
// Errors (sticky until Reset), *ProtocolError values the server closes
// with: 1007 for input that is not DEFLATE or refers before the start of
// the message, or for a text message that is not UTF-8; 1009 as soon as
// the output would exceed the limit given to Reset, so a small message
// that claims gigabytes costs at most that many bytes of work. Output
// returned with an error may be dropped. It never allocates.
func (f *Inflater) Inflate(dst, src []byte, last bool) (nOut, nIn int, done bool, err error) {
	nOut, nIn, done, err = f.inflate(dst, src, last)
	if f.text && err == nil {
		if !f.utf8.Write(dst[:nOut]) || done && !f.utf8.Complete() {
			f.err = errInflateUTF8
			return nOut, nIn, false, f.err
		}
	}
	return nOut, nIn, done, err
}

// inflate is Inflate but for the UTF-8 check.
func (f *Inflater) inflate(dst, src []byte, last bool) (nOut, nIn int, done bool, err error) {
	if f.err != nil {
		return 0, 0, false, f.err
	}
	f.last = f.last || last
	last = f.last
	out, in := 0, 0
	// fill tops bits up to at least 56 bits when input remains.
	fill := func() {
		for f.nbits <= 56 {
			switch {
			case in < len(src):
				f.bits |= uint64(src[in]) << f.nbits
				in++
			case last && f.tailUsed < uint8(len(syncTail)):
				f.bits |= uint64(syncTail[f.tailUsed]) << f.nbits
				f.tailUsed++
			default:
				return
			}
			f.nbits += 8
		}
	}
	// need reports whether bits holds at least n bits, reading more input
	// if it does not.
	need := func(n uint) bool {
		if f.nbits < n {
			fill()
		}
		return f.nbits >= n
	}
	drop := func(n uint) {
		f.bits >>= n
		f.nbits -= n
	}
	fail := func(e *ProtocolError) (int, int, bool, error) {
		f.err = e
		return out, in, false, e
	}
	for {
		// A match in progress is copied first (§3.2.3).
		if f.copyLen > 0 {
			n := min(f.copyLen, len(dst)-out)
			if f.max > 0 && f.total+int64(n) > f.max {
				return fail(errInflateTooBig)
			}
			from := f.wpos - f.copyDist
			for i := 0; i < n; i++ {
				c := f.window[(from+i)&(inflateWindow-1)]
				f.window[(f.wpos+i)&(inflateWindow-1)] = c
				dst[out+i] = c
			}
			f.wpos = (f.wpos + n) & (inflateWindow - 1)
			out += n
			f.total += int64(n)
			f.copyLen -= n
			if f.copyLen > 0 {
				return out, in, false, nil // dst is full
			}
		}
		fill()
		switch f.state {
		case stHeader:
			if !need(3) {
				return f.starved(out, in, last)
			}
			f.final = f.bits&1 != 0
			typ := f.bits >> 1 & 3
			drop(3)
			switch typ {
			case 0:
				drop(f.nbits & 7) // to a byte boundary (§3.2.4)
				f.state = stStoredLen
			case 1:
				f.lit, f.dist = &fixedLit, &fixedDist
				f.state = stCodes
			case 2:
				f.state = stDynHeader
			default:
				return fail(errInflateData)
			}
		case stStoredLen:
			if !need(32) {
				return f.starved(out, in, last)
			}
			n, nn := uint16(f.bits), uint16(f.bits>>16)
			if n != ^nn {
				return fail(errInflateData)
			}
			drop(32)
			f.stored = int(n)
			f.state = stStored
		case stStored:
			// Bytes already in bits first, then straight from src.
			for f.stored > 0 && f.nbits >= 8 && out < len(dst) {
				if f.max > 0 && f.total >= f.max {
					return fail(errInflateTooBig)
				}
				c := byte(f.bits)
				drop(8)
				dst[out] = c
				f.window[f.wpos] = c
				f.wpos = (f.wpos + 1) & (inflateWindow - 1)
				out++
				f.total++
				f.stored--
			}
			if f.stored > 0 && f.nbits < 8 {
				n := min(f.stored, len(dst)-out, len(src)-in)
				if f.max > 0 && f.total+int64(n) > f.max {
					return fail(errInflateTooBig)
				}
				f.write(dst[out:out+n], src[in:in+n])
				out += n
				in += n
				f.total += int64(n)
				f.stored -= n
				if f.stored > 0 && in == len(src) && last && f.tailUsed < uint8(len(syncTail)) {
					continue // the tail's bytes go through bits
				}
			}
			if f.stored > 0 {
				if out == len(dst) {
					return out, in, false, nil
				}
				return f.starved(out, in, last)
			}
			f.endBlock()
		case stDynHeader:
			if !need(14) {
				return f.starved(out, in, last)
			}
			f.hlit = int(f.bits&31) + 257
			f.hdist = int(f.bits>>5&31) + 1
			f.hclen = int(f.bits>>10&15) + 4
			drop(14)
			if f.hlit > 286 || f.hdist > 30 {
				return fail(errInflateData)
			}
			f.idx = 0
			f.lens = [numLitLen + numDist]uint8{}
			f.state = stCodeLenLen
		case stCodeLenLen:
			for f.idx < f.hclen {
				if !need(3) {
					return f.starved(out, in, last)
				}
				f.lens[codeLenOrder[f.idx]] = uint8(f.bits & 7)
				drop(3)
				f.idx++
			}
			// The code length code lives in dist until the real
			// distance code replaces it.
			f.dist = &f.dynDist
			if !f.dist.build(f.lens[:numCodeLen]) || f.dist.count[0] == numCodeLen {
				return fail(errInflateData)
			}
			f.lens = [numLitLen + numDist]uint8{}
			f.idx = 0
			f.state = stCodeLens
		case stCodeLens:
			for n := f.hlit + f.hdist; f.idx < n; {
				need(maxCodeBits + 7)
				sym, used := f.dist.decode(f.bits, f.nbits)
				if used < 0 {
					return fail(errInflateData)
				}
				if used == 0 {
					return f.starved(out, in, last)
				}
				if sym < 16 {
					drop(uint(used))
					f.lens[f.idx] = uint8(sym)
					f.idx++
					continue
				}
				var extra, base uint
				var val uint8
				switch sym {
				case 16: // repeat the previous length 3-6 times
					if f.idx == 0 {
						return fail(errInflateData)
					}
					extra, base, val = 2, 3, f.lens[f.idx-1]
				case 17: // 3-10 zeros
					extra, base = 3, 3
				default: // 18: 11-138 zeros
					extra, base = 7, 11
				}
				if f.nbits < uint(used)+extra {
					return f.starved(out, in, last)
				}
				rep := int(base + uint(f.bits>>uint(used))&(1<<extra-1))
				drop(uint(used) + extra)
				if f.idx+rep > n {
					return fail(errInflateData)
				}
				for ; rep > 0; rep-- {
					f.lens[f.idx] = val
					f.idx++
				}
			}
			if f.lens[256] == 0 { // a block must be able to end
				return fail(errInflateData)
			}
			f.lit = &f.dynLit
			if !f.lit.build(f.lens[:f.hlit]) || !f.dist.build(f.lens[f.hlit:f.hlit+f.hdist]) {
				return fail(errInflateData)
			}
			f.state = stCodes
		case stCodes:
			for {
				if out == len(dst) {
					return out, in, false, nil
				}
				need(maxLenDist)
				sym, used := f.lit.decode(f.bits, f.nbits)
				if used < 0 {
					return fail(errInflateData)
				}
				if used == 0 {
					return f.starved(out, in, last)
				}
				if sym < 256 {
					if f.max > 0 && f.total >= f.max {
						return fail(errInflateTooBig)
					}
					drop(uint(used))
					c := byte(sym)
					dst[out] = c
					f.window[f.wpos] = c
					f.wpos = (f.wpos + 1) & (inflateWindow - 1)
					out++
					f.total++
					continue
				}
				if sym == 256 {
					drop(uint(used))
					f.endBlock()
					break
				}
				// A length, its extra bits, a distance and its extra
				// bits are taken together or not at all.
				sym -= 257
				if sym >= len(lenBase) {
					return fail(errInflateData)
				}
				lbits := uint(used) + uint(lenExtra[sym])
				if f.nbits < lbits {
					return f.starved(out, in, last)
				}
				length := int(lenBase[sym]) + int(f.bits>>uint(used))&(1<<lenExtra[sym]-1)
				dsym, dused := f.dist.decode(f.bits>>lbits, f.nbits-lbits)
				if dused < 0 {
					return fail(errInflateData)
				}
				if dused == 0 {
					return f.starved(out, in, last)
				}
				if dsym >= len(distBase) {
					return fail(errInflateData)
				}
				dneed := lbits + uint(dused)
				if f.nbits < dneed+uint(distExtra[dsym]) {
					return f.starved(out, in, last)
				}
				dist := int(distBase[dsym]) + int(f.bits>>dneed)&(1<<distExtra[dsym]-1)
				drop(dneed + uint(distExtra[dsym]))
				if int64(dist) > f.total || f.distLimit > 0 && dist > f.distLimit {
					return fail(errInflateData) // before the message's start
				}
				f.copyLen, f.copyDist = length, dist
				break
			}
		case stDone:
			// Bytes after the final block are ignored (zlib does the same).
			in = len(src)
			f.bits, f.nbits = 0, 0
			return out, in, last, nil
		}
	}
}

// write copies src to dst and to the window.
func (f *Inflater) write(dst, src []byte) {
	copy(dst, src)
	if len(src) >= inflateWindow {
		src = src[len(src)-inflateWindow:]
		f.wpos = 0
	}
	n := copy(f.window[f.wpos:], src)
	copy(f.window[:], src[n:])
	f.wpos = (f.wpos + len(src)) & (inflateWindow - 1)
}

// endBlock moves on after a block: to the next header, or to stDone after
// the final block.
func (f *Inflater) endBlock() {
	if f.final {
		f.state = stDone
	} else {
		f.state = stHeader
	}
}

// starved returns when the decoder needs input that src does not hold.
// Callers have just tried to fill bits, so src is used up (and with last
// the tail too): with last the message is done. Like zlib, a message may end
// inside a block (the bits left are dropped).
func (f *Inflater) starved(out, in int, last bool) (int, int, bool, error) {
	return out, in, last, nil
}
