package http2

// Pack copies the table from storage src into dst, compacted, when the
// entries it holds now fit in dst, whatever MaxSize and the limit are (Move
// demands room for the whole limit). A server uses it to keep an idle
// connection's table in small storage while the peer may still grow it
// past what dst holds (before a lower SETTINGS_HEADER_TABLE_SIZE is
// acknowledged and applied): the next Decode must then be given storage of
// DecoderTableLen(max(limit, MaxSize)) again, filled by Move from dst.
// It reports false, leaving the decoder on src, when the entries do not
// fit. (Added by the server side of #17: srv_ files are h2server's.)
func (d *Decoder) Pack(dst, src []byte) bool {
	if d.size > tableCap(len(dst)) {
		return false
	}
	s, t := d.view(src), d.view(dst)
	end := uint32(0)
	for k := uint32(0); k < d.count; k++ {
		off := s.offset((d.head + k) % s.slots())
		name, value := s.entry(off)
		n := entryHeaderLen + uint32(len(name)+len(value))
		copy(t.data[end:], s.data[off:off+n])
		t.setOffset(k, end)
		end += n
	}
	d.start, d.end, d.head = 0, end, 0
	return true
}

// Fits reports whether storage of n bytes can be passed to Decode now.
func (d *Decoder) Fits(n int) bool {
	c := tableCap(n)
	return c >= d.limit && c >= d.maxSize
}
