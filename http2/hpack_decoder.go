package http2

import "encoding/binary"

// The HPACK decoder (RFC 7541 §3, §4, §6).
//
// The dynamic table lives in storage the caller lends to every Decode
// call: a pointer-free []byte of DecoderTableLen(limit) bytes, e.g. a block
// of a per-worker slab, so that an idle connection costs the table and a
// few words, not a heap object. Its layout:
//
//	data[0:tableCap]          entries, oldest first, each
//	                          [name len u16][value len u16][name][value];
//	                          live between start and end, compacted to the
//	                          front when an insert finds no room at the end
//	ring[tableCap/32 × u16]   offset of each entry in data, a ring from
//	                          the oldest (head) for O(1) indexing
//
// An entry takes 4+len(name)+len(value) bytes of data but counts 32 more
// in the table size (§4.1), so data never runs out before the size limit,
// and a table of size tableCap holds at most tableCap/32 entries.

const (
	// MaxDecoderTableSize is the largest dynamic table a Decoder keeps:
	// entry offsets are 16 bits. Far above the 4096 default; a server
	// advertises less.
	MaxDecoderTableSize = 1<<16 - entryOverhead
	entryHeaderLen      = 4 // name and value lengths, u16 each
	ringSlotLen         = 2
)

// DecoderTableLen returns the bytes of storage a Decoder with a table
// limit of limit bytes needs (limit rounded up to 32, times 34/32): 4352
// for the 4096 default, 1088 for 1024.
func DecoderTableLen(limit uint32) int {
	if limit > MaxDecoderTableSize {
		limit = MaxDecoderTableSize
	}
	return int((limit+entryOverhead-1)/entryOverhead) * (entryOverhead + ringSlotLen)
}

// tableCap is the largest table size storage of n bytes holds.
func tableCap(n int) uint32 {
	c := uint64(n/(entryOverhead+ringSlotLen)) * entryOverhead
	if c > MaxDecoderTableSize {
		// Round down to whole slots.
		c = MaxDecoderTableSize / entryOverhead * entryOverhead
	}
	return uint32(c)
}

// Decoder decodes HPACK field blocks of one connection. It holds no
// pointer (its table is lent per call), so it can be embedded in
// pointer-free per-connection state. Start it with Init.
type Decoder struct {
	start, end  uint32 // live entry bytes: data[start:end]
	head, count uint32 // ring slot of the oldest entry; number of entries
	size        uint32 // table size as RFC 7541 §4.1 counts it
	maxSize     uint32 // maximum in force (the last size update)
	limit       uint32 // the acknowledged SETTINGS_HEADER_TABLE_SIZE: updates may not pass it
	maxList     uint32 // header list size limit, 0 for none
	needUpdate  bool   // limit lowered below maxSize: the next block must start with an update
}

// Init empties the table and sets its limit (the SETTINGS_HEADER_TABLE_SIZE
// in force: 4096 until the peer acknowledges a SETTINGS of ours that
// changes it, RFC 9113 §6.5.3) and the header list size limit (0 for
// none): the sum over the fields of name + value + 32 (RFC 9113 §6.5.2).
// The storage passed to Decode must be at least DecoderTableLen(limit).
func (d *Decoder) Init(limit, maxListSize uint32) {
	if limit > MaxDecoderTableSize {
		limit = MaxDecoderTableSize
	}
	*d = Decoder{maxSize: limit, limit: limit, maxList: maxListSize}
}

// SetLimit applies a new SETTINGS_HEADER_TABLE_SIZE once the peer has
// acknowledged it. When it is below the size in force, the peer's next
// block must start with a table size update to at most limit (RFC 7541
// §4.2), else Decode fails with COMPRESSION_ERROR. The storage may be
// shrunk (Move) only once MaxSize is at most the new limit.
func (d *Decoder) SetLimit(limit uint32) {
	if limit > MaxDecoderTableSize {
		limit = MaxDecoderTableSize
	}
	d.limit = limit
	d.needUpdate = d.maxSize > limit
}

// MaxSize returns the table size limit in force (the peer's last update).
func (d *Decoder) MaxSize() uint32 { return d.maxSize }

// Size returns the table's current size as RFC 7541 §4.1 counts it.
func (d *Decoder) Size() uint32 { return d.size }

// Len returns the number of entries in the dynamic table.
func (d *Decoder) Len() int { return int(d.count) }

// table is a view of the lent storage.
type table struct {
	data []byte // tableCap bytes
	ring []byte // tableCap/32 slots
}

func (d *Decoder) view(storage []byte) table {
	c := tableCap(len(storage))
	return table{data: storage[:c], ring: storage[c : c+c/entryOverhead*ringSlotLen]}
}

func (t table) slots() uint32 { return uint32(len(t.ring) / ringSlotLen) }

// wrap reduces a slot number below 2×slots to the ring (no division: this
// is on the path of every indexed field).
func (t table) wrap(slot uint32) uint32 {
	if n := t.slots(); slot >= n {
		return slot - n
	}
	return slot
}

func (t table) offset(slot uint32) uint32 {
	return uint32(binary.BigEndian.Uint16(t.ring[slot*ringSlotLen:]))
}

func (t table) setOffset(slot, off uint32) {
	binary.BigEndian.PutUint16(t.ring[slot*ringSlotLen:], uint16(off))
}

// entry returns the name and value of the entry at data offset off.
func (t table) entry(off uint32) (name, value []byte) {
	n := uint32(binary.BigEndian.Uint16(t.data[off:]))
	v := uint32(binary.BigEndian.Uint16(t.data[off+2:]))
	p := off + entryHeaderLen
	return t.data[p : p+n : p+n], t.data[p+n : p+n+v : p+n+v]
}

// lookup resolves an index of the combined address space (§2.3.3): 1..61
// the static table, then the dynamic table newest first.
func (d *Decoder) lookup(t table, idx uint32) (name, value []byte, err error) {
	switch {
	case idx == 0:
		return nil, nil, errIndexZero
	case idx <= staticLen:
		return staticNames[idx-1], staticValues[idx-1], nil
	case idx-staticLen > d.count:
		return nil, nil, errIndexRange
	}
	i := idx - staticLen // 1 is the newest
	slot := t.wrap(d.head + d.count - i)
	name, value = t.entry(t.offset(slot))
	return name, value, nil
}

func (d *Decoder) evictOldest(t table) {
	name, value := t.entry(t.offset(d.head))
	d.size -= uint32(len(name)+len(value)) + entryOverhead
	d.start = t.offset(d.head) + entryHeaderLen + uint32(len(name)+len(value))
	d.head = t.wrap(d.head + 1)
	d.count--
	if d.count == 0 {
		d.start, d.end, d.head = 0, 0, 0
	}
}

// evictTo evicts the oldest entries until the size is at most max (§4.3).
func (d *Decoder) evictTo(t table, max uint32) {
	for d.count > 0 && d.size > max {
		d.evictOldest(t)
	}
}

// compact moves the live entries to the front of data.
func (d *Decoder) compact(t table) {
	if d.start == 0 {
		return
	}
	copy(t.data, t.data[d.start:d.end])
	for k := uint32(0); k < d.count; k++ {
		slot := t.wrap(d.head + k)
		t.setOffset(slot, t.offset(slot)-d.start)
	}
	d.end -= d.start
	d.start = 0
}

// insert adds an entry (§4.4): an entry larger than the table empties it.
// name may be a view into the table (an indexed name, nameInTable): it is
// then copied to spare (scratch the caller does not use) before entries
// move.
func (d *Decoder) insert(t table, name, value []byte, nameInTable bool, spare []byte) error {
	sz := uint64(len(name)) + uint64(len(value)) + entryOverhead
	if sz > uint64(d.maxSize) {
		d.evictTo(t, 0)
		return nil
	}
	d.evictTo(t, d.maxSize-uint32(sz))
	need := entryHeaderLen + uint32(len(name)+len(value))
	if d.end+need > uint32(len(t.data)) {
		if nameInTable {
			if cap(spare) < len(name) {
				return errTableStorage
			}
			name = append(spare[:0], name...)
		}
		d.compact(t)
	}
	p := d.end
	binary.BigEndian.PutUint16(t.data[p:], uint16(len(name)))
	binary.BigEndian.PutUint16(t.data[p+2:], uint16(len(value)))
	p += entryHeaderLen
	p += uint32(copy(t.data[p:], name))
	copy(t.data[p:], value)
	t.setOffset(t.wrap(d.head+d.count), d.end)
	d.count++
	d.end += need
	d.size += uint32(sz)
	return nil
}

// Move copies the table from the storage src into dst, compacted, for a
// caller that shrinks or grows the storage (e.g. after SetLimit lowered the
// limit and the peer's update brought MaxSize down). dst must hold
// DecoderTableLen(max(limit, MaxSize)); it reports false, leaving the
// decoder on src, when it does not.
func (d *Decoder) Move(dst, src []byte) bool {
	need := d.limit
	if d.maxSize > need {
		need = d.maxSize
	}
	if tableCap(len(dst)) < need {
		return false
	}
	s, t := d.view(src), d.view(dst)
	end := uint32(0)
	for k := uint32(0); k < d.count; k++ {
		off := s.offset(s.wrap(d.head + k))
		name, value := s.entry(off)
		n := entryHeaderLen + uint32(len(name)+len(value))
		copy(t.data[end:], s.data[off:off+n])
		t.setOffset(k, end)
		end += n
	}
	d.start, d.end, d.head = 0, end, 0
	return true
}

// Decode decodes one complete field block (a HEADERS payload and its
// CONTINUATIONs, joined) and calls fn for each field in order, with
// sensitive set for a never-indexed literal (§6.2.3): a proxy must forward
// it never-indexed too.
//
// Borrowing: name and value are read-only views valid only during that fn
// call: into block, into scratch (Huffman-decoded strings), into storage
// (dynamic table entries) or into the static table. storage is the table
// lent to this decoder, the same bytes every call (or those Move moved it
// to). scratch must have a capacity of at least the table limit and should
// hold the largest field wanted (the header list limit): a field whose
// decoded strings pass cap(scratch) counts as passing the header list
// limit.
//
// Errors: a ConnError COMPRESSION_ERROR when the block is malformed (the
// connection must end: its table is out of step), ErrHeaderListTooLarge
// after decoding the whole block when the list passed the limit (fn was not
// called from the field that passed it on; the connection can go on),
// fn's own error as soon as fn returns it (the rest of the block is not
// decoded, so the connection must end unless fn's error came on the last
// field), or a ConnError INTERNAL_ERROR when storage or scratch is smaller
// than the limit. It does not allocate.
func (d *Decoder) Decode(storage, block, scratch []byte, fn func(name, value []byte, sensitive bool) error) error {
	if tableCap(len(storage)) < d.limit || tableCap(len(storage)) < d.maxSize {
		return errTableStorage
	}
	t := d.view(storage)
	first := true // no field representation yet: size updates allowed (§4.2)
	var list uint64
	over := false
	for len(block) > 0 {
		c := block[0]
		if c&0xe0 == 0x20 { // §6.3 dynamic table size update
			if !first {
				return errSizeUpdateLate
			}
			v, rest, err := readInt(block, 5)
			if err != nil {
				return err
			}
			if v > d.limit {
				return errSizeUpdateLarge
			}
			d.maxSize = v
			d.needUpdate = false
			d.evictTo(t, v)
			block = rest
			continue
		}
		if d.needUpdate {
			return errSizeUpdateNeed
		}
		first = false
		var (
			name, value        []byte
			nameLen, valueLen  int // decoded lengths, also when too long for scratch
			sensitive, tooLong bool
			indexing           bool
			nameInTable        bool // name is a view into the dynamic table
			err                error
		)
		used := 0        // scratch bytes taken by this field's strings
		if c&0x80 != 0 { // §6.1 indexed field
			var idx uint32
			if idx, block, err = readInt(block, 7); err != nil {
				return err
			}
			if name, value, err = d.lookup(t, idx); err != nil {
				return err
			}
			nameLen, valueLen = len(name), len(value)
		} else {
			// §6.2: with incremental indexing (01, 6-bit index), without
			// indexing (0000, 4 bits), never indexed (0001, 4 bits).
			indexing = c&0xc0 == 0x40
			sensitive = c&0xf0 == 0x10
			prefix := uint(4)
			if indexing {
				prefix = 6
			}
			var idx uint32
			if idx, block, err = readInt(block, prefix); err != nil {
				return err
			}
			if idx == 0 {
				name, nameLen, block, err = readLiteral(block, scratch, &used)
			} else {
				name, _, err = d.lookup(t, idx)
				nameLen, nameInTable = len(name), idx > staticLen
			}
			if err == errHuffmanTooLong {
				tooLong, err = true, nil
			}
			if err != nil {
				return err
			}
			value, valueLen, block, err = readLiteral(block, scratch, &used)
			if err == errHuffmanTooLong {
				tooLong, err = true, nil
			}
			if err != nil {
				return err
			}
		}

		// Emit, unless the header list has passed its limit: then decode
		// on without calling fn, to keep the table in step.
		esz := uint64(nameLen) + uint64(valueLen) + entryOverhead
		list += esz
		switch {
		case over:
		case tooLong || (d.maxList > 0 && list > uint64(d.maxList)):
			over = true
		default:
			if err := fn(name, value, sensitive); err != nil {
				return err
			}
		}

		if indexing { // §6.2.1: add the field to the dynamic table
			if !tooLong {
				if err := d.insert(t, name, value, nameInTable, scratch[used:used]); err != nil {
					return err
				}
			} else if esz > uint64(d.maxSize) {
				// Too long for scratch, so (when the caller kept the
				// contract) larger than the table: it empties it (§4.4).
				d.evictTo(t, 0)
			} else {
				return errTableStorage
			}
		}
	}
	if over {
		return ErrHeaderListTooLarge
	}
	return nil
}

// readLiteral reads a string literal from b: a view into b when raw, else
// decoded into scratch[*used:], advancing *used. n is the decoded length
// (also when errHuffmanTooLong says it did not fit).
func readLiteral(b, scratch []byte, used *int) (s []byte, n int, rest []byte, err error) {
	raw, huff, rest, err := readString(b)
	if err != nil {
		return nil, 0, b, err
	}
	if !huff {
		return raw, len(raw), rest, nil
	}
	s, n, err = huffmanDecode(scratch[*used:*used], raw)
	if err != nil {
		return nil, n, rest, err
	}
	*used += n
	return s, n, rest, nil
}

// ParkedLen returns the bytes Park needs: the entries alone, without the
// free room and the index (Size minus 28 per entry).
func (d *Decoder) ParkedLen() int { return int(d.end - d.start) }

// Park copies the table's entries from storage into dst (at least
// ParkedLen bytes) so that an idle connection can give its storage back
// and keep only this, often far smaller than the limit. Until Unpark the
// decoder must not Decode or Move. It returns the bytes written.
func (d *Decoder) Park(dst, storage []byte) int {
	t := d.view(storage)
	n := copy(dst, t.data[d.start:d.end])
	d.start, d.end, d.head = 0, uint32(n), 0
	return n
}

// Unpark restores a table parked in src (Park's bytes) into storage of at
// least DecoderTableLen of the limit, rebuilding its index; the decoder can
// then Decode with storage again.
func (d *Decoder) Unpark(storage, src []byte) {
	t := d.view(storage)
	copy(t.data, src[:d.end])
	off := uint32(0)
	for k := uint32(0); k < d.count; k++ {
		t.setOffset(k, off)
		name, value := t.entry(off)
		off += entryHeaderLen + uint32(len(name)+len(value))
	}
}
