package tlsrecord

import (
	"encoding/hex"
	"errors"
	"strings"
)

// Key log labels crypto/tls writes to tls.Config.KeyLogWriter that this
// package uses.
const (
	LabelTLS12         = "CLIENT_RANDOM"
	LabelClientTraffic = "CLIENT_TRAFFIC_SECRET_0"
	LabelServerTraffic = "SERVER_TRAFFIC_SECRET_0"
)

// ParseKeyLogLine splits a key log line ("LABEL <client random hex>
// <secret hex>\n", the NSS format crypto/tls writes).
func ParseKeyLogLine(line string) (label string, clientRandom, secret []byte, err error) {
	f := strings.Fields(line)
	if len(f) != 3 {
		return "", nil, nil, errors.New("tlsrecord: key log line is not three fields")
	}
	if clientRandom, err = hex.DecodeString(f[1]); err != nil || len(clientRandom) != 32 {
		return "", nil, nil, errors.New("tlsrecord: key log line: bad client random")
	}
	if secret, err = hex.DecodeString(f[2]); err != nil || len(secret) == 0 || len(secret) > 48 {
		return "", nil, nil, errors.New("tlsrecord: key log line: bad secret")
	}
	return f[0], clientRandom, secret, nil
}

// HelloRandom returns the random of the ClientHello or ServerHello at the
// front of records (the first plaintext handshake record of a direction):
// the client's, to match key log lines to connections, and the server's,
// which TLS 1.2 key derivation needs and the key log does not carry.
func HelloRandom(records []byte) ([]byte, error) {
	// header, msg type, length (3), legacy_version (2), random (32)
	const off = HeaderLen + 4 + 2
	if len(records) < off+32 || ContentType(records[0]) != TypeHandshake || (records[HeaderLen] != 1 && records[HeaderLen] != 2) {
		return nil, errors.New("tlsrecord: no hello at the front of the records")
	}
	return records[off : off+32], nil
}

// SessionSecret reads the version, cipher suite and secret from an
// encoded tls.SessionState (SessionState.Bytes; the layout is documented
// in crypto/tls/ticket.go and only ever extended at its end). crypto/tls
// writes no key log line when it resumes a TLS 1.2 session: the master
// secret is the session's, which a tls.Config.UnwrapSession hook that
// calls Config.DecryptTicket sees. (For TLS 1.3 the secret is the
// resumption secret; the key log has the traffic secrets, use those.)
func SessionSecret(state []byte) (version, suite uint16, secret []byte, err error) {
	// version (2), type (1), cipher_suite (2), created_at (8), secret<1..255>
	const off = 2 + 1 + 2 + 8
	if len(state) < off+1 || len(state) < off+1+int(state[off]) || state[off] == 0 {
		return 0, 0, nil, errors.New("tlsrecord: session state too short")
	}
	version = uint16(state[0])<<8 | uint16(state[1])
	suite = uint16(state[3])<<8 | uint16(state[4])
	return version, suite, state[off+1 : off+1+int(state[off])], nil
}
