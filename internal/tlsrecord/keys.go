package tlsrecord

import (
	"crypto/hkdf"
	"crypto/hmac"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
)

// expandLabel is HKDF-Expand-Label (RFC 8446 §7.1) with an empty context.
func expandLabel(h func() hash.Hash, secret []byte, label string, length int) []byte {
	info := make([]byte, 0, 2+1+6+len(label)+1)
	info = binary.BigEndian.AppendUint16(info, uint16(length))
	info = append(info, byte(6+len(label)))
	info = append(info, "tls13 "...)
	info = append(info, label...)
	info = append(info, 0) // context: empty
	out, err := hkdf.Expand(h, secret, string(info), length)
	if err != nil {
		panic("tlsrecord: hkdf: " + err.Error()) // only for lengths > 255*hash size
	}
	return out
}

// setSecret13 makes a traffic secret the direction's current one and
// derives its key and IV (RFC 8446 §7.3); the sequence number restarts.
func (h *half) setSecret13(s *suite, secret []byte) {
	h.secret = [48]byte{}
	copy(h.secret[:], secret)
	copy(h.key[:], expandLabel(s.hash(), secret, "key", s.keyLen))
	copy(h.iv[:], expandLabel(s.hash(), secret, "iv", 12))
	h.seq = 0
}

// update moves a TLS 1.3 direction to its next traffic secret (KeyUpdate,
// RFC 8446 §7.2).
func (h *half) update(s *suite) {
	next := expandLabel(s.hash(), h.secret[:s.hashLen()], "traffic upd", s.hashLen())
	h.setSecret13(s, next)
}

// prf12 is the TLS 1.2 PRF (RFC 5246 §5): P_hash(secret, label + seed).
func prf12(h func() hash.Hash, out, secret []byte, label string, seed []byte) {
	labelSeed := append([]byte(label), seed...)
	mac := hmac.New(h, secret)
	mac.Write(labelSeed)
	a := mac.Sum(nil)
	for j := 0; j < len(out); {
		mac.Reset()
		mac.Write(a)
		mac.Write(labelSeed)
		b := mac.Sum(nil)
		j += copy(out[j:], b)
		mac.Reset()
		mac.Write(a)
		a = mac.Sum(nil)
	}
}

// NewTLS13 is the record state of a TLS 1.3 connection right after its
// handshake, from its application traffic secrets (key log labels
// CLIENT_TRAFFIC_SECRET_0 and SERVER_TRAFFIC_SECRET_0). server says which
// side this end is. Both sequence numbers are 0: see SyncOut and SyncIn.
func NewTLS13(suiteID uint16, clientSecret, serverSecret []byte, server bool) (Conn, error) {
	s := suiteByID(suiteID)
	if s == nil || !s.tls13 {
		return Conn{}, fmt.Errorf("tlsrecord: cipher suite %#04x is not a TLS 1.3 AEAD suite", suiteID)
	}
	if len(clientSecret) != s.hashLen() || len(serverSecret) != s.hashLen() {
		return Conn{}, errors.New("tlsrecord: traffic secret length does not match the suite's hash")
	}
	c := Conn{suite: suiteID}
	in, out := clientSecret, serverSecret
	if !server {
		in, out = out, in
	}
	c.in.setSecret13(s, in)
	c.out.setSecret13(s, out)
	return c, nil
}

// NewTLS12 is the record state of a TLS 1.2 connection right after its
// handshake, from its master secret (key log label CLIENT_RANDOM) and the
// client's and server's hello randoms (RFC 5246 §6.3; AEAD suites have no
// MAC keys). Both sequence numbers are 0: see SyncOut and SyncIn (after a
// handshake both are 1, the Finished messages having used 0).
func NewTLS12(suiteID uint16, master, clientRandom, serverRandom []byte, server bool) (Conn, error) {
	s := suiteByID(suiteID)
	if s == nil || s.tls13 {
		return Conn{}, fmt.Errorf("tlsrecord: cipher suite %#04x is not a TLS 1.2 AEAD suite", suiteID)
	}
	if len(master) != 48 || len(clientRandom) != 32 || len(serverRandom) != 32 {
		return Conn{}, errors.New("tlsrecord: master secret must be 48 bytes, randoms 32")
	}
	var block [2*32 + 2*12]byte
	kb := block[:2*s.keyLen+2*s.ivLen]
	prf12(s.hash(), kb, master, "key expansion", append(append([]byte{}, serverRandom...), clientRandom...))
	c := Conn{suite: suiteID}
	ck, sk := kb[:s.keyLen], kb[s.keyLen:2*s.keyLen]
	civ, siv := kb[2*s.keyLen:2*s.keyLen+s.ivLen], kb[2*s.keyLen+s.ivLen:]
	in, out := &c.in, &c.out
	if !server {
		in, out = out, in
	}
	copy(in.key[:], ck)
	copy(in.iv[:], civ)
	copy(out.key[:], sk)
	copy(out.iv[:], siv)
	return c, nil
}
