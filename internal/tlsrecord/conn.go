package tlsrecord

import (
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"slices"
)

// ConnSize is the size of a Conn (asserted by the tests).
const ConnSize = 224

// typeKeyUpdate is the KeyUpdate handshake message (RFC 8446 §4.6.3).
const typeKeyUpdate = 24

// half is one direction's keys.
type half struct {
	seq    uint64
	key    [32]byte // suite's key length used
	iv     [12]byte // TLS 1.2 AES-GCM: the 4-byte salt
	secret [48]byte // TLS 1.3: current traffic secret (hash length used)
}

// Conn is a connection's record state after its handshake: pointer-free,
// ConnSize bytes. The zero Conn is not usable: see NewTLS13, NewTLS12.
type Conn struct {
	in, out half
	suite   uint16
	useless uint8   // records in a row that carried no application data
	hsLen   uint8   // bytes of a post-handshake message in hs
	hs      [5]byte // a KeyUpdate split across records (RFC 8446 §5.1 allows it)
}

func (c *Conn) s() *suite   { return suiteByID(c.suite) }
func (c *Conn) tls13() bool { s := c.s(); return s != nil && s.tls13 }

// Suite is the connection's cipher suite (a tls.TLS_* constant).
func (c *Conn) Suite() uint16 { return c.suite }

// Seqs returns the next sequence numbers to read and to write.
func (c *Conn) Seqs() (in, out uint64) { return c.in.seq, c.out.seq }

// SetSeqs sets the next sequence numbers to read and to write.
func (c *Conn) SetSeqs(in, out uint64) { c.in.seq, c.out.seq = in, out }

// Ciphers holds the AEADs built from a Conn's keys, with scratch space for
// nonces. Its owner keeps one for a connection that is busy and Resets it
// (or lets it go) when the connection goes idle; it is rebuilt as needed,
// also after a KeyUpdate. It is not safe for concurrent use.
type Ciphers struct {
	in, out aeadKey
	nonce   [12]byte
	aad     [13]byte
}

type aeadKey struct {
	aead  cipher.AEAD
	suite uint16
	key   [32]byte
}

// Reset drops the AEADs (and the copies of their keys).
func (cs *Ciphers) Reset() { *cs = Ciphers{} }

func (k *aeadKey) get(s *suite, key *[32]byte) (cipher.AEAD, error) {
	if k.aead == nil || k.suite != s.id || k.key != *key {
		a, err := s.newAEAD(key[:s.keyLen])
		if err != nil {
			return nil, fmt.Errorf("tlsrecord: %w", err)
		}
		k.aead, k.suite, k.key = a, s.id, *key
	}
	return k.aead, nil
}

// nonce sets cs.nonce for h's next record: the IV XOR the sequence number
// (RFC 8446 §5.3, RFC 7905 §2), or for TLS 1.2 AES-GCM the salt and the
// explicit part (RFC 5288 §3).
func (cs *Ciphers) setNonce(s *suite, h *half, explicit []byte) []byte {
	n := cs.nonce[:]
	if s.explicitNonce() {
		copy(n, h.iv[:4])
		copy(n[4:], explicit)
		return n
	}
	copy(n, h.iv[:])
	var seq [8]byte
	binary.BigEndian.PutUint64(seq[:], h.seq)
	for i := range seq {
		n[4+i] ^= seq[i]
	}
	return n
}

// aad12 is the TLS 1.2 additional data: seq, type, version, length.
func (cs *Ciphers) aad12(seq uint64, typ ContentType, n int) []byte {
	a := cs.aad[:]
	binary.BigEndian.PutUint64(a, seq)
	a[8] = byte(typ)
	a[9], a[10] = 3, 3
	binary.BigEndian.PutUint16(a[11:], uint16(n))
	return a
}

// Open decrypts one whole record (rec is exactly RecordLen bytes) in place
// and returns its content type and plaintext, which aliases rec.
func (c *Conn) Open(cs *Ciphers, rec []byte) (ContentType, []byte, error) {
	s := c.s()
	if s == nil {
		return 0, nil, fail(AlertInternalError, "no keys")
	}
	a, err := cs.in.get(s, &c.in.key)
	if err != nil {
		return 0, nil, err
	}
	return openWith(a, cs, s, &c.in, rec)
}

func openWith(a cipher.AEAD, cs *Ciphers, s *suite, h *half, rec []byte) (ContentType, []byte, error) {
	typ := ContentType(rec[0])
	body := rec[HeaderLen:]
	if s.tls13 && typ != TypeApplicationData {
		return 0, nil, fail(AlertUnexpectedMessage, fmt.Sprintf("unencrypted record of type %d after the handshake", typ))
	}
	if h.seq == ^uint64(0) {
		return 0, nil, fail(AlertInternalError, "sequence number wrapped")
	}
	var nonce, aad []byte
	if s.explicitNonce() {
		if len(body) < 8+tagLen {
			return 0, nil, fail(AlertBadRecordMAC, "record too short")
		}
		nonce = cs.setNonce(s, h, body[:8])
		body = body[8:]
	} else {
		if len(body) < tagLen {
			return 0, nil, fail(AlertBadRecordMAC, "record too short")
		}
		nonce = cs.setNonce(s, h, nil)
	}
	if s.tls13 {
		aad = rec[:HeaderLen]
	} else {
		aad = cs.aad12(h.seq, typ, len(body)-tagLen)
	}
	plain, err := a.Open(body[:0], nonce, body, aad)
	if err != nil {
		return 0, nil, fail(AlertBadRecordMAC, "record authentication failed")
	}
	h.seq++
	if s.tls13 {
		i := len(plain) - 1
		for i >= 0 && plain[i] == 0 {
			i--
		}
		if i < 0 {
			return 0, nil, fail(AlertUnexpectedMessage, "record with no content type")
		}
		typ, plain = ContentType(plain[i]), plain[:i]
	}
	if len(plain) > MaxPlaintext {
		return 0, nil, fail(AlertRecordOverflow, fmt.Sprintf("plaintext of %d bytes", len(plain)))
	}
	return typ, plain, nil
}

// Read takes the record at the front of b and acts on it. n is how many
// bytes of b it used: 0 (with a nil error) when b does not yet hold a whole
// record. data is the record's application data, decrypted in place in b
// (empty for records with nothing for the caller). Records to send the peer
// (the answer to a KeyUpdate that requests one) are appended to reply.
// Errors: ErrCloseNotify, or an *Error (the alert to send, or the peer's).
func (c *Conn) Read(cs *Ciphers, b, reply []byte) (n int, data, replyOut []byte, err error) {
	n, err = c.RecordLen(b)
	if err != nil || n == 0 || len(b) < n {
		return 0, nil, reply, err
	}
	typ, plain, err := c.Open(cs, b[:n])
	if err != nil {
		return n, nil, reply, err
	}
	if c.hsLen > 0 && typ != TypeHandshake {
		return n, nil, reply, fail(AlertUnexpectedMessage, "record interleaved with a split handshake message")
	}
	switch typ {
	case TypeApplicationData:
		if len(plain) > 0 {
			c.useless = 0
			return n, plain, reply, nil
		}
		return n, nil, reply, c.uselessRecord()
	case TypeAlert:
		return n, nil, reply, c.alert(plain)
	case TypeHandshake:
		if !c.tls13() {
			return n, nil, reply, fail(AlertUnexpectedMessage, "renegotiation refused")
		}
		reply, err = c.postHandshake(cs, plain, reply)
		if err == nil {
			err = c.uselessRecord()
		}
		return n, nil, reply, err
	}
	return n, nil, reply, fail(AlertUnexpectedMessage, fmt.Sprintf("record of type %d after the handshake", typ))
}

func (c *Conn) uselessRecord() error {
	if c.useless++; c.useless > maxUseless {
		return fail(AlertUnexpectedMessage, "too many records without application data")
	}
	return nil
}

// alert interprets a received alert as crypto/tls does: close_notify ends
// the stream; TLS 1.2 warnings and TLS 1.3 user_canceled are skipped;
// anything else is fatal.
func (c *Conn) alert(p []byte) error {
	if len(p) != 2 {
		return fail(AlertUnexpectedMessage, "alert of bad length")
	}
	a := Alert(p[1])
	if a == AlertCloseNotify {
		return ErrCloseNotify
	}
	if c.tls13() {
		if a == AlertUserCanceled {
			return c.uselessRecord()
		}
		return &Error{Alert: a, Remote: true}
	}
	switch p[0] {
	case levelWarning:
		return c.uselessRecord()
	case levelFatal:
		return &Error{Alert: a, Remote: true}
	}
	return fail(AlertUnexpectedMessage, "alert of unknown level")
}

// postHandshake handles TLS 1.3 handshake messages after the handshake:
// only KeyUpdate is valid from a peer we asked no certificate of and sent
// no ticket to. A KeyUpdate must end its record (RFC 8446 §5.1).
func (c *Conn) postHandshake(cs *Ciphers, p, reply []byte) ([]byte, error) {
	if len(p) == 0 {
		return reply, fail(AlertUnexpectedMessage, "empty handshake record")
	}
	s := c.s()
	for len(p) > 0 {
		k := copy(c.hs[c.hsLen:], p)
		c.hsLen += uint8(k)
		p = p[k:]
		if c.hs[0] != typeKeyUpdate {
			return reply, fail(AlertUnexpectedMessage, fmt.Sprintf("post-handshake message of type %d", c.hs[0]))
		}
		if c.hsLen >= 4 && (c.hs[1] != 0 || c.hs[2] != 0 || c.hs[3] != 1) {
			return reply, fail(AlertDecodeError, "KeyUpdate of bad length")
		}
		if c.hsLen < 5 {
			continue
		}
		if len(p) > 0 {
			return reply, fail(AlertUnexpectedMessage, "KeyUpdate not at the end of its record")
		}
		req := c.hs[4]
		c.hsLen = 0
		switch req {
		case 0:
		case 1: // answer under the current key, then switch (RFC 8446 §4.6.3)
			var err error
			if reply, err = c.SealKeyUpdate(cs, reply, false); err != nil {
				return reply, err
			}
		default:
			return reply, fail(AlertIllegalParameter, "KeyUpdate request value")
		}
		c.in.update(s)
	}
	return reply, nil
}

// Seal appends to dst the records carrying parts (concatenated) as content
// type typ, at most MaxPlaintext bytes each; no record for no bytes. With
// capacity for the plaintext plus MaxOverhead per record, dst does not
// grow and Seal allocates nothing.
func (c *Conn) Seal(cs *Ciphers, dst []byte, typ ContentType, parts ...[]byte) ([]byte, error) {
	s := c.s()
	if s == nil {
		return dst, fail(AlertInternalError, "no keys")
	}
	a, err := cs.out.get(s, &c.out.key)
	if err != nil {
		return dst, err
	}
	total := 0
	for _, p := range parts {
		total += len(p)
	}
	pi, off := 0, 0 // next byte: parts[pi][off]
	for total > 0 {
		if c.out.seq == ^uint64(0) {
			return dst, fail(AlertInternalError, "sequence number wrapped")
		}
		chunk := min(total, MaxPlaintext)
		total -= chunk
		start := len(dst)
		pre := HeaderLen
		if s.explicitNonce() {
			pre += 8
		}
		room := pre + chunk + tagLen
		if s.tls13 {
			room++ // the inner content type
		}
		dst = slices.Grow(dst, room)
		dst = dst[:start+pre]
		for left := chunk; left > 0; {
			for off == len(parts[pi]) {
				pi, off = pi+1, 0
			}
			k := min(left, len(parts[pi])-off)
			dst = append(dst, parts[pi][off:off+k]...)
			off += k
			left -= k
		}
		dst = c.finish(a, cs, s, dst, start, pre, typ)
	}
	return dst, nil
}

// finish seals the record at dst[start:] in place: room for its header
// (and explicit nonce) then its plaintext; dst has capacity for the rest.
func (c *Conn) finish(a cipher.AEAD, cs *Ciphers, s *suite, dst []byte, start, pre int, typ ContentType) []byte {
	h := &c.out
	outer := typ
	if s.tls13 {
		dst = append(dst, byte(typ))
		outer = TypeApplicationData
	}
	rec := dst[start:]
	plain := rec[pre:]
	rec[0], rec[1], rec[2] = byte(outer), 3, 3
	binary.BigEndian.PutUint16(rec[3:], uint16(len(rec)-HeaderLen+tagLen))
	var nonce, aad []byte
	if s.explicitNonce() {
		binary.BigEndian.PutUint64(rec[HeaderLen:], h.seq)
		nonce = cs.setNonce(s, h, rec[HeaderLen:pre])
	} else {
		nonce = cs.setNonce(s, h, nil)
	}
	if s.tls13 {
		aad = rec[:HeaderLen]
	} else {
		aad = cs.aad12(h.seq, typ, len(plain))
	}
	a.Seal(plain[:0], nonce, plain, aad)
	h.seq++
	return dst[:len(dst)+tagLen]
}

// SealAlert appends an alert record: close_notify (and user_canceled) as a
// warning, others fatal.
func (c *Conn) SealAlert(cs *Ciphers, dst []byte, a Alert) ([]byte, error) {
	level := byte(levelFatal)
	if a == AlertCloseNotify || a == AlertUserCanceled {
		level = levelWarning
	}
	msg := [2]byte{level, byte(a)}
	return c.Seal(cs, dst, TypeAlert, msg[:])
}

// SealKeyUpdate (TLS 1.3) appends a KeyUpdate record, asking the peer to
// update its keys too if request, and moves the write direction to the
// next traffic secret.
func (c *Conn) SealKeyUpdate(cs *Ciphers, dst []byte, request bool) ([]byte, error) {
	s := c.s()
	if s == nil || !s.tls13 {
		return dst, fail(AlertInternalError, "KeyUpdate needs TLS 1.3")
	}
	msg := [5]byte{typeKeyUpdate, 0, 0, 1, 0}
	if request {
		msg[4] = 1
	}
	dst, err := c.Seal(cs, dst, TypeHandshake, msg[:])
	if err != nil {
		return dst, err
	}
	c.out.update(s)
	return dst, nil
}

// SyncOut sets the write sequence number from the records this end sent
// during the handshake (all of them, in order): the number of them sealed
// with the write keys, found by opening each (a copy) with them. After a
// TLS 1.2 handshake that is the Finished message; after a TLS 1.3 one, the
// session tickets crypto/tls sent after its Finished.
func (c *Conn) SyncOut(records []byte) error { return c.sync(&c.out, records) }

// SyncIn is SyncOut for the records the handshake read from the peer
// (TLS 1.2: its Finished; TLS 1.3: none, as its Finished used the
// handshake keys).
func (c *Conn) SyncIn(records []byte) error { return c.sync(&c.in, records) }

func (c *Conn) sync(h *half, records []byte) error {
	s := c.s()
	if s == nil {
		return fail(AlertInternalError, "no keys")
	}
	a, err := s.newAEAD(h.key[:s.keyLen])
	if err != nil {
		return err
	}
	var cs Ciphers
	var scratch []byte
	for len(records) > 0 {
		if len(records) < HeaderLen {
			return fmt.Errorf("tlsrecord: sync: %d bytes after the last record", len(records))
		}
		n := HeaderLen + int(binary.BigEndian.Uint16(records[3:]))
		if len(records) < n {
			return fmt.Errorf("tlsrecord: sync: record of %d bytes cut at %d", n, len(records))
		}
		scratch = append(scratch[:0], records[:n]...)
		if ContentType(scratch[0]) == TypeApplicationData || !s.tls13 {
			try := *h
			if _, _, err := openWith(a, &cs, s, &try, scratch); err == nil {
				h.seq++
			}
		}
		records = records[n:]
	}
	return nil
}
