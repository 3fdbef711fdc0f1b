package tlsrecord

import (
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"unsafe"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// TestKeySchedule13 checks key and IV derivation against RFC 8448 §3
// (server handshake and application traffic keys of the simple 1-RTT
// handshake, TLS_AES_128_GCM_SHA256).
func TestKeySchedule13(t *testing.T) {
	s := suiteByID(tls.TLS_AES_128_GCM_SHA256)
	for _, v := range []struct{ secret, key, iv string }{
		{"b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38", "3fce516009c21727d0f2e4e86ee403bc", "5d313eb2671276ee13000b30"},
		{"a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643", "9f02283b6c9c07efc26bb9f2ac92e356", "cf782b88dd83549aadf1e984"},
	} {
		var h half
		h.setSecret13(s, unhex(v.secret))
		if got := hex.EncodeToString(h.key[:16]); got != v.key {
			t.Errorf("key %s, want %s", got, v.key)
		}
		if got := hex.EncodeToString(h.iv[:]); got != v.iv {
			t.Errorf("iv %s, want %s", got, v.iv)
		}
	}
}

// TestPRF12 checks the TLS 1.2 PRF (P_SHA256) against the widely used
// vector from the IETF TLS list (also in crypto/tls's tests).
func TestPRF12(t *testing.T) {
	out := make([]byte, 100)
	prf12(suiteByID(tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256).hash(), out,
		unhex("9bbe436ba940f017b17652849a71db35"), "test label", unhex("a0ba9f936cda311827a6f796ffd5198c"))
	want := "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66"
	if got := hex.EncodeToString(out); got != want {
		t.Fatalf("PRF %s\nwant %s", got, want)
	}
}

// pair is a client and a server Conn sharing keys (every suite, both
// versions), for the tests crypto/tls's client cannot drive.
func pair(t testing.TB, id uint16) (client, server *Conn) {
	t.Helper()
	s := suiteByID(id)
	var c, sv Conn
	var err error
	if s.tls13 {
		cs, ss := bytes.Repeat([]byte{1}, s.hashLen()), bytes.Repeat([]byte{2}, s.hashLen())
		if c, err = NewTLS13(id, cs, ss, false); err == nil {
			sv, err = NewTLS13(id, cs, ss, true)
		}
	} else {
		m, cr, sr := bytes.Repeat([]byte{3}, 48), bytes.Repeat([]byte{4}, 32), bytes.Repeat([]byte{5}, 32)
		if c, err = NewTLS12(id, m, cr, sr, false); err == nil {
			sv, err = NewTLS12(id, m, cr, sr, true)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return &c, &sv
}

// readAll reads every whole record of b.
func readAll(c *Conn, cs *Ciphers, b []byte) (data, reply []byte, err error) {
	for len(b) > 0 {
		n, d, r, err := c.Read(cs, b, reply)
		reply = r
		if err != nil {
			return data, reply, err
		}
		if n == 0 {
			return data, reply, errors.New("incomplete record")
		}
		data = append(data, d...)
		b = b[n:]
	}
	return data, reply, nil
}

// TestRoundTrip: every suite, data of many sizes across records, both
// directions, and the record sizes stay within MaxRecord.
func TestRoundTrip(t *testing.T) {
	for _, su := range suites {
		c, s := pair(t, su.id)
		var ccs, scs Ciphers
		for _, size := range []int{0, 1, 255, MaxPlaintext - 1, MaxPlaintext, MaxPlaintext + 1, 70000} {
			msg := pattern(size, byte(size))
			rec, err := c.Seal(&ccs, nil, TypeApplicationData, msg)
			if err != nil {
				t.Fatal(err)
			}
			records := (size + MaxPlaintext - 1) / MaxPlaintext
			if max := size + records*MaxOverhead; len(rec) > max {
				t.Fatalf("%#x: %d bytes sealed as %d, over %d", su.id, size, len(rec), max)
			}
			for b := rec; len(b) > 0; {
				n, _ := s.RecordLen(b)
				if n > MaxRecord {
					t.Fatalf("%#x: record of %d bytes", su.id, n)
				}
				b = b[n:]
			}
			got, _, err := readAll(s, &scs, rec)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("%#x size %d: read %d bytes, %v", su.id, size, len(got), err)
			}
			if _, out := c.Seqs(); out != func() uint64 { in, _ := s.Seqs(); return in }() {
				t.Fatalf("%#x: seqs out of step", su.id)
			}
		}
	}
}

// TestTampered: a flipped bit anywhere, a record replayed, or one skipped
// is bad_record_mac.
func TestTampered(t *testing.T) {
	for _, su := range suites {
		c, s := pair(t, su.id)
		var ccs, scs Ciphers
		rec, _ := c.Seal(&ccs, nil, TypeApplicationData, []byte("hello"))
		for i := range rec {
			if i < 5 && !su.tls13 && i != 0 {
				continue // TLS 1.2: version and length bytes are checked otherwise
			}
			bad := append([]byte(nil), rec...)
			bad[i] ^= 0x40
			s2 := *s
			if n, _, _, err := s2.Read(&scs, bad, nil); err == nil && n > 0 {
				t.Fatalf("%#x: flipped byte %d accepted", su.id, i)
			}
		}
		if _, _, err := readAll(s, &scs, append([]byte(nil), rec...)); err != nil {
			t.Fatal(err)
		}
		var e *Error
		if _, _, err := readAll(s, &scs, rec); !errors.As(err, &e) || e.Alert != AlertBadRecordMAC {
			t.Fatalf("%#x: replayed record: %v", su.id, err)
		}
	}
}

func wantAlert(t *testing.T, err error, a Alert) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Alert != a || e.Remote {
		t.Fatalf("error %v, want alert %d to send", err, a)
	}
}

// TestPostHandshake: what may follow a handshake besides data.
func TestPostHandshake(t *testing.T) {
	const tls13, tls12 = tls.TLS_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
	seal := func(c *Conn, cs *Ciphers, typ ContentType, b []byte) []byte {
		r, err := c.Seal(cs, nil, typ, b)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	t.Run("keyupdate split across records, then data", func(t *testing.T) {
		c, s := pair(t, tls13)
		var ccs, scs Ciphers
		ku := []byte{typeKeyUpdate, 0, 0, 1, 1}
		b := append(seal(c, &ccs, TypeHandshake, ku[:2]), seal(c, &ccs, TypeHandshake, ku[2:])...)
		c.out.update(c.s()) // the client's side of its KeyUpdate
		b = append(b, seal(c, &ccs, TypeApplicationData, []byte("new keys"))...)
		data, reply, err := readAll(s, &scs, b)
		if err != nil || string(data) != "new keys" {
			t.Fatalf("read %q, %v", data, err)
		}
		// requested: the reply is a KeyUpdate under the old write key
		got, _, err := readAll(c, &ccs, reply)
		if err != nil || len(got) != 0 || c.in.seq != 0 {
			t.Fatalf("client read of the reply: %q %v seq %d", got, err, c.in.seq)
		}
		if _, _, err := readAll(c, &ccs, seal(s, &scs, TypeApplicationData, []byte("x"))); err != nil {
			t.Fatal("after the reply, the server's new keys: ", err)
		}
	})
	t.Run("keyupdate not ending its record", func(t *testing.T) {
		c, s := pair(t, tls13)
		var ccs, scs Ciphers
		_, _, err := readAll(s, &scs, seal(c, &ccs, TypeHandshake, []byte{typeKeyUpdate, 0, 0, 1, 0, typeKeyUpdate}))
		wantAlert(t, err, AlertUnexpectedMessage)
	})
	t.Run("split keyupdate interleaved with data", func(t *testing.T) {
		c, s := pair(t, tls13)
		var ccs, scs Ciphers
		b := append(seal(c, &ccs, TypeHandshake, []byte{typeKeyUpdate, 0}), seal(c, &ccs, TypeApplicationData, []byte("x"))...)
		_, _, err := readAll(s, &scs, b)
		wantAlert(t, err, AlertUnexpectedMessage)
	})
	for _, m := range []struct {
		name string
		msg  []byte
		a    Alert
	}{
		{"keyupdate bad value", []byte{typeKeyUpdate, 0, 0, 1, 2}, AlertIllegalParameter},
		{"keyupdate bad length", []byte{typeKeyUpdate, 0, 0, 2, 0, 0}, AlertDecodeError},
		{"new session ticket from a client", []byte{4, 0, 0, 1, 0}, AlertUnexpectedMessage},
		{"empty handshake record", nil, AlertUnexpectedMessage},
	} {
		t.Run(m.name, func(t *testing.T) {
			c, s := pair(t, tls13)
			var ccs, scs Ciphers
			var rec []byte
			if m.msg == nil { // Seal makes no record of nothing: build one
				rec = c.sealEmpty(&ccs, TypeHandshake)
			} else {
				rec = seal(c, &ccs, TypeHandshake, m.msg)
			}
			_, _, err := readAll(s, &scs, rec)
			wantAlert(t, err, m.a)
		})
	}
	t.Run("tls12 renegotiation refused", func(t *testing.T) {
		c, s := pair(t, tls12)
		var ccs, scs Ciphers
		_, _, err := readAll(s, &scs, seal(c, &ccs, TypeHandshake, []byte{1, 0, 0, 0}))
		wantAlert(t, err, AlertUnexpectedMessage)
	})
	for _, id := range []uint16{tls13, tls12} {
		c, s := pair(t, id)
		var ccs, scs Ciphers
		_, _, err := readAll(s, &scs, seal(c, &ccs, TypeChangeCipherSpec, []byte{1}))
		wantAlert(t, err, AlertUnexpectedMessage)
	}
	t.Run("alerts", func(t *testing.T) {
		for _, tc := range []struct {
			id      uint16
			alert   []byte
			skipped bool
			remote  Alert
		}{
			{tls13, []byte{1, byte(AlertUserCanceled)}, true, 0},
			{tls13, []byte{1, byte(AlertNoRenegotiation)}, false, AlertNoRenegotiation},
			{tls12, []byte{1, byte(AlertNoRenegotiation)}, true, 0},
			{tls12, []byte{2, byte(AlertBadRecordMAC)}, false, AlertBadRecordMAC},
		} {
			c, s := pair(t, tc.id)
			var ccs, scs Ciphers
			b := append(seal(c, &ccs, TypeAlert, tc.alert), seal(c, &ccs, TypeApplicationData, []byte("x"))...)
			data, _, err := readAll(s, &scs, b)
			var e *Error
			switch {
			case tc.skipped && (err != nil || string(data) != "x"):
				t.Fatalf("%#x %v: %q %v, want skipped", tc.id, tc.alert, data, err)
			case !tc.skipped && (!errors.As(err, &e) || !e.Remote || e.Alert != tc.remote):
				t.Fatalf("%#x %v: %v, want the peer's alert %d", tc.id, tc.alert, err, tc.remote)
			}
		}
		c, s := pair(t, tls13)
		var ccs, scs Ciphers
		rec, _ := c.SealAlert(&ccs, nil, AlertCloseNotify)
		if _, _, err := readAll(s, &scs, rec); !errors.Is(err, ErrCloseNotify) {
			t.Fatalf("close_notify: %v", err)
		}
		_, _, err := readAll(s, &scs, seal(c, &ccs, TypeAlert, []byte{1, 0, 0}))
		wantAlert(t, err, AlertUnexpectedMessage)
	})
	t.Run("empty records bounded", func(t *testing.T) {
		c, s := pair(t, tls13)
		var ccs, scs Ciphers
		var b []byte
		for range maxUseless {
			b = append(b, c.sealEmpty(&ccs, TypeApplicationData)...)
		}
		if _, _, err := readAll(s, &scs, append(b, seal(c, &ccs, TypeApplicationData, []byte("x"))...)); err != nil {
			t.Fatalf("%d empty records then data: %v", maxUseless, err)
		}
		b = b[:0]
		for range maxUseless + 1 {
			b = append(b, c.sealEmpty(&ccs, TypeApplicationData)...)
		}
		_, _, err := readAll(s, &scs, b)
		wantAlert(t, err, AlertUnexpectedMessage)
	})
	t.Run("tls13 padding stripped", func(t *testing.T) {
		c, s := pair(t, tls13)
		var ccs, scs Ciphers
		// inner plaintext "hi", type 23, three zeros of padding: finish
		// appends the type byte it is given, so give it 0 and put the real
		// type before it
		cs := c.s()
		a, _ := ccs.out.get(cs, &c.out.key)
		dst := append(make([]byte, HeaderLen, 64), "hi\x17\x00\x00"...)
		rec := c.finish(a, &ccs, cs, dst, 0, HeaderLen, 0)
		data, _, err := readAll(s, &scs, rec)
		if err != nil || string(data) != "hi" {
			t.Fatalf("%q %v", data, err)
		}
		// all padding, no type: unexpected_message
		dst = append(make([]byte, HeaderLen, 64), 0, 0)
		_, _, err = readAll(s, &scs, c.finish(a, &ccs, cs, dst, 0, HeaderLen, 0))
		wantAlert(t, err, AlertUnexpectedMessage)
	})
}

// sealEmpty seals a record with no content (Seal makes none).
func (c *Conn) sealEmpty(cs *Ciphers, typ ContentType) []byte {
	s := c.s()
	a, _ := cs.out.get(s, &c.out.key)
	pre := HeaderLen
	if s.explicitNonce() {
		pre += 8
	}
	dst := make([]byte, pre, pre+1+tagLen)
	return c.finish(a, cs, s, dst, 0, pre, typ)
}

// TestRecordLen: the header checks.
func TestRecordLen(t *testing.T) {
	c, _ := pair(t, tls.TLS_AES_128_GCM_SHA256)
	if n, err := c.RecordLen([]byte{23, 3, 3, 0}); n != 0 || err != nil {
		t.Fatal("short header:", n, err)
	}
	if n, err := c.RecordLen([]byte{23, 3, 3, 0x41, 0x00}); n != HeaderLen+maxCiphertext13 || err != nil {
		t.Fatal("largest record:", n, err)
	}
	_, err := c.RecordLen([]byte{23, 3, 3, 0x41, 0x01})
	wantAlert(t, err, AlertRecordOverflow)
	_, err = c.RecordLen([]byte{23, 3, 1, 0, 1})
	wantAlert(t, err, AlertProtocolVersion)
	_, err = c.RecordLen([]byte{24, 3, 3, 0, 1})
	wantAlert(t, err, AlertUnexpectedMessage)
}

// TestConnSize: the per-connection state is pointer-free and small.
func TestConnSize(t *testing.T) {
	if got := unsafe.Sizeof(Conn{}); got != ConnSize {
		t.Fatalf("Conn is %d bytes, ConnSize says %d", got, ConnSize)
	}
}

// TestNoAllocs: reading and sealing records with a kept Ciphers and a
// buffer with room allocates nothing.
func TestNoAllocs(t *testing.T) {
	for _, su := range suites {
		c, s := pair(t, su.id)
		var ccs, scs Ciphers
		msg := pattern(1000, 1)
		buf := make([]byte, 0, MaxRecord)
		rec, _ := c.Seal(&ccs, buf, TypeApplicationData, msg)
		readAll(s, &scs, rec) // build the AEADs
		full := pattern(MaxPlaintext, 2)
		allocs := testing.AllocsPerRun(100, func() {
			rec, _ := c.Seal(&ccs, buf[:0], TypeApplicationData, msg[:300], msg[300:])
			if _, d, _, err := s.Read(&scs, rec, nil); err != nil || len(d) != len(msg) {
				t.Fatal(err)
			}
			// a full record fits a MaxRecord buffer
			rec, _ = c.Seal(&ccs, buf[:0], TypeApplicationData, full)
			if _, d, _, err := s.Read(&scs, rec, nil); err != nil || len(d) != len(full) {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Fatalf("%#x: %v allocations per record", su.id, allocs)
		}
	}
}
