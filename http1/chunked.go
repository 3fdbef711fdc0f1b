package http1

// Limits of the chunked decoder. They bound the framing bytes a client can
// make the server read for no body data; the session timers bound time.
const (
	// maxChunkSize: chunk sizes must fit in 32 bits, as in condure.
	maxChunkSize = 0xffffffff
	// maxSizeDigits allows leading zeros but stops a client from sending
	// an endless "0000…" size.
	maxSizeDigits = 16
	// maxChunkLine bounds a chunk-size line with its extensions; nobody
	// sends kilobytes of extensions, which we ignore anyway.
	maxChunkLine = 4096
	// maxTrailerBytes bounds the trailer section, like the default head
	// buffer (--buffer-size 8192) bounds the head.
	maxTrailerBytes = 8192
)

// chunkState is where the decoder is in RFC 9112 §7.1:
//
//	chunked-body   = *chunk last-chunk trailer-section CRLF
//	chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//	last-chunk     = 1*("0") [ chunk-ext ] CRLF
//	trailer-section = *( field-line CRLF )
type chunkState uint8

const (
	chunkSize    chunkState = iota // chunk-size hex digits; the first is required
	chunkSizeWS                    // BWS after the size, before ";" or the line end
	chunkExt                       // chunk-ext after ";": ignored, but no bare CR/LF
	chunkSizeLF                    // CR ended the size line, LF must follow
	chunkData                      // chunk-data: remaining bytes to pass through
	chunkDataEnd                   // after the data: CRLF (or bare LF)
	chunkDataLF                    // CR after the data, LF must follow
	trailerStart                   // start of a trailer field line or of the final empty line
	trailerName                    // trailer field-name, up to ":"
	trailerValue                   // trailer field-value, up to the line end
	trailerLF                      // CR ended a trailer line, LF must follow
	trailerEndLF                   // CR of the final empty line, LF must follow
	chunkDone                      // body complete; nothing more is consumed
	chunkFailed                    // ErrBadChunk was returned; Reset to reuse
)

// ChunkedDecoder decodes a chunked request body incrementally. The zero value
// is ready; call Reset between bodies. It holds no reference to its input, so
// input may arrive in pieces of any size, down to one byte.
type ChunkedDecoder struct {
	remaining uint64 // chunk-size being read, then chunk-data bytes still to come
	line      uint32 // bytes of the current size line, or of the trailer section
	state     chunkState
	// (field order: 16 bytes, not 24; it sits in every server session slot)
}

// Reset makes the decoder ready for a new body.
func (d *ChunkedDecoder) Reset() { *d = ChunkedDecoder{} }

// Decode consumes bytes from in. It returns how many bytes it consumed, the
// body data found (a view into in; at most one contiguous piece per call, may
// be empty), and done once the last chunk and trailers were consumed. Call it
// again with the unconsumed rest while consumed > 0 and !done. Chunk sizes
// over 32 bits, bad hex, missing CRLF and chunk extensions containing bare CR
// or LF give ErrBadChunk. Trailers are parsed and discarded.
//
// The call that returns done may also return the last data piece.
// consumed is 0 only for empty input or once done. Bytes after the body
// (a pipelined request) are never consumed. On ErrBadChunk, data holds body
// bytes decoded in this call before the bad byte, and every later call fails
// until Reset. Bare LF is accepted where CRLF is due, except inside a chunk
// extension, where a lenient and a strict parser would disagree on where the
// line ends.
func (d *ChunkedDecoder) Decode(in []byte) (consumed int, data []byte, done bool, err error) {
	switch d.state {
	case chunkDone:
		return 0, nil, true, nil
	case chunkFailed:
		return 0, nil, false, ErrBadChunk
	}
	i := 0
	for i < len(in) {
		if d.state == chunkData {
			if data != nil {
				// One piece per call: the caller hands this one on
				// before the next is decoded.
				return i, data, false, nil
			}
			n := len(in) - i
			if uint64(n) > d.remaining {
				n = int(d.remaining)
			}
			data = in[i : i+n : i+n]
			i += n
			d.remaining -= uint64(n)
			if d.remaining == 0 {
				d.state = chunkDataEnd
			}
			continue
		}

		c := in[i]
		i++
		switch d.state {
		case chunkSize:
			if v, ok := unhex(c); ok {
				if d.line == maxSizeDigits {
					return d.fail(i, data)
				}
				d.line++
				d.remaining = d.remaining<<4 | v
				if d.remaining > maxChunkSize {
					return d.fail(i, data)
				}
				continue
			}
			if d.line == 0 {
				return d.fail(i, data) // no digits
			}
			switch c {
			case ' ', '\t':
				d.state = chunkSizeWS
			case ';':
				d.state = chunkExt
			case '\r':
				d.state = chunkSizeLF
			case '\n':
				d.endSizeLine()
			default:
				return d.fail(i, data)
			}

		case chunkSizeWS:
			switch c {
			case ' ', '\t':
			case ';':
				d.state = chunkExt
			case '\r':
				d.state = chunkSizeLF
			case '\n':
				d.endSizeLine()
			default:
				return d.fail(i, data)
			}

		case chunkExt:
			d.line++
			if d.line > maxChunkLine {
				return d.fail(i, data)
			}
			switch {
			case c == '\r':
				d.state = chunkSizeLF
			case !valueChar(c):
				// Bare LF here is the smuggling vector: some
				// parsers skip it as part of the extension.
				return d.fail(i, data)
			}

		case chunkSizeLF:
			if c != '\n' {
				return d.fail(i, data)
			}
			d.endSizeLine()

		case chunkDataEnd:
			switch c {
			case '\r':
				d.state = chunkDataLF
			case '\n':
				d.state = chunkSize
			default:
				return d.fail(i, data)
			}

		case chunkDataLF:
			if c != '\n' {
				return d.fail(i, data)
			}
			d.state = chunkSize

		default: // the trailer section: field lines until an empty line
			d.line++
			if d.line > maxTrailerBytes {
				return d.fail(i, data)
			}
			switch d.state {
			case trailerStart:
				switch {
				case c == '\r':
					d.state = trailerEndLF
				case c == '\n':
					d.state = chunkDone
					return i, data, true, nil
				case tokenChar[c]:
					d.state = trailerName
				default:
					return d.fail(i, data) // obs-fold, empty name
				}
			case trailerName:
				switch {
				case c == ':':
					d.state = trailerValue
				case !tokenChar[c]:
					return d.fail(i, data)
				}
			case trailerValue:
				switch {
				case c == '\r':
					d.state = trailerLF
				case c == '\n':
					d.state = trailerStart
				case !valueChar(c):
					return d.fail(i, data)
				}
			case trailerLF:
				if c != '\n' {
					return d.fail(i, data)
				}
				d.state = trailerStart
			case trailerEndLF:
				if c != '\n' {
					return d.fail(i, data)
				}
				d.state = chunkDone
				return i, data, true, nil
			}
		}
	}
	return i, data, false, nil
}

// endSizeLine moves past a complete chunk-size line: to the data, or for
// the last-chunk (size 0) to the trailer section.
func (d *ChunkedDecoder) endSizeLine() {
	d.line = 0
	if d.remaining == 0 {
		d.state = trailerStart
	} else {
		d.state = chunkData
	}
}

func (d *ChunkedDecoder) fail(i int, data []byte) (int, []byte, bool, error) {
	d.state = chunkFailed
	return i, data, false, ErrBadChunk
}

// unhex returns the value of the hex digit c.
func unhex(c byte) (uint64, bool) {
	switch {
	case '0' <= c && c <= '9':
		return uint64(c - '0'), true
	case 'a' <= c && c <= 'f':
		return uint64(c - 'a' + 10), true
	case 'A' <= c && c <= 'F':
		return uint64(c - 'A' + 10), true
	}
	return 0, false
}
