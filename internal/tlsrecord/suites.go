package tlsrecord

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"hash"

	"golang.org/x/crypto/chacha20poly1305"
)

// suite is what the record layer needs of a cipher suite.
type suite struct {
	id     uint16
	tls13  bool
	keyLen int
	// ivLen is the key block's IV: 4 (the GCM salt) for TLS 1.2 AES-GCM,
	// 12 otherwise.
	ivLen  int
	chacha bool
	sha384 bool
}

// explicitNonce: TLS 1.2 AES-GCM records carry 8 bytes of nonce (RFC 5288 §3).
func (s *suite) explicitNonce() bool { return !s.tls13 && !s.chacha }

func (s *suite) hash() func() hash.Hash {
	if s.sha384 {
		return sha512.New384
	}
	return sha256.New
}

func (s *suite) hashLen() int {
	if s.sha384 {
		return 48
	}
	return 32
}

// suites are the AEAD suites crypto/tls negotiates as a server with the
// configuration in server/certs.go (TLS 1.2: ECDHE with AES-GCM or
// ChaCha20-Poly1305; TLS 1.3: all three).
var suites = []suite{
	{id: tls.TLS_AES_128_GCM_SHA256, tls13: true, keyLen: 16, ivLen: 12},
	{id: tls.TLS_AES_256_GCM_SHA384, tls13: true, keyLen: 32, ivLen: 12, sha384: true},
	{id: tls.TLS_CHACHA20_POLY1305_SHA256, tls13: true, keyLen: 32, ivLen: 12, chacha: true},
	{id: tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, keyLen: 16, ivLen: 4},
	{id: tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, keyLen: 16, ivLen: 4},
	{id: tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, keyLen: 32, ivLen: 4, sha384: true},
	{id: tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, keyLen: 32, ivLen: 4, sha384: true},
	{id: tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305, keyLen: 32, ivLen: 12, chacha: true},
	{id: tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305, keyLen: 32, ivLen: 12, chacha: true},
}

func suiteByID(id uint16) *suite {
	for i := range suites {
		if suites[i].id == id {
			return &suites[i]
		}
	}
	return nil
}

// Supported reports whether the cipher suite id (a tls.TLS_* constant) is
// one this package can take over.
func Supported(id uint16) bool { return suiteByID(id) != nil }

// newAEAD builds the AEAD of a suite from a key. AES-GCM uses the standard
// 12-byte nonce; the record layer builds nonces itself.
func (s *suite) newAEAD(key []byte) (cipher.AEAD, error) {
	if s.chacha {
		return chacha20poly1305.New(key)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}
