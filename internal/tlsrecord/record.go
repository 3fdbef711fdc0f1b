package tlsrecord

import (
	"encoding/binary"
	"errors"
	"fmt"
)

const (
	// HeaderLen is a record header: type, legacy version, length (RFC 8446 §5.1).
	HeaderLen = 5
	// MaxPlaintext is the largest plaintext fragment of a record (2^14).
	MaxPlaintext = 1 << 14
	// maxCiphertext12 bounds a TLS 1.2 record's body (RFC 5246 §6.2.3).
	maxCiphertext12 = MaxPlaintext + 2048
	// maxCiphertext13 bounds a TLS 1.3 record's body (RFC 8446 §5.2).
	maxCiphertext13 = MaxPlaintext + 256
	// MaxOverhead is the most a sealed record adds to its plaintext: header,
	// TLS 1.2 GCM explicit nonce, tag (TLS 1.3 adds 1 content-type byte
	// instead of the nonce).
	MaxOverhead = HeaderLen + 8 + tagLen
	// MaxRecord is the longest record this package seals.
	MaxRecord = MaxPlaintext + MaxOverhead
	// tagLen is the AEAD tag of every supported suite.
	tagLen = 16
	// maxUseless bounds consecutive records that carry no application data
	// (empty records, skipped alerts), as crypto/tls does (16).
	maxUseless = 16
)

// ContentType is a record's type (RFC 8446 §5.1).
type ContentType uint8

// Record content types.
const (
	TypeChangeCipherSpec ContentType = 20
	TypeAlert            ContentType = 21
	TypeHandshake        ContentType = 22
	TypeApplicationData  ContentType = 23
)

// Alert is an alert description (RFC 8446 §6).
type Alert uint8

// Alerts this package sends or interprets.
const (
	AlertCloseNotify       Alert = 0
	AlertUnexpectedMessage Alert = 10
	AlertBadRecordMAC      Alert = 20
	AlertRecordOverflow    Alert = 22
	AlertIllegalParameter  Alert = 47
	AlertDecodeError       Alert = 50
	AlertProtocolVersion   Alert = 70
	AlertInternalError     Alert = 80
	AlertUserCanceled      Alert = 90
	AlertNoRenegotiation   Alert = 100
)

// Alert levels (RFC 5246 §7.2).
const (
	levelWarning = 1
	levelFatal   = 2
)

// Error ends a connection. Remote false: the peer misbehaved and Alert is
// what to send it (SealAlert) before closing; Remote true: the peer sent
// the fatal alert Alert.
type Error struct {
	Alert  Alert
	Remote bool
	Msg    string
}

func (e *Error) Error() string {
	if e.Remote {
		return fmt.Sprintf("tls: peer sent alert %d", e.Alert)
	}
	return fmt.Sprintf("tls: %s (alert %d)", e.Msg, e.Alert)
}

// ErrCloseNotify is returned when the peer sent close_notify: its end of
// the stream, in order.
var ErrCloseNotify = errors.New("tls: close_notify received")

func fail(a Alert, msg string) error { return &Error{Alert: a, Msg: msg} }

// RecordLen checks the header at the front of b and returns the whole
// record's length (header included), or 0 when b holds less than a header.
// The record is complete once len(b) >= n.
func (c *Conn) RecordLen(b []byte) (n int, err error) {
	if len(b) < HeaderLen {
		return 0, nil
	}
	if b[1] != 3 || b[2] != 3 {
		return 0, fail(AlertProtocolVersion, fmt.Sprintf("record version %d.%d", b[1], b[2]))
	}
	switch ContentType(b[0]) {
	case TypeChangeCipherSpec, TypeAlert, TypeHandshake, TypeApplicationData:
	default:
		return 0, fail(AlertUnexpectedMessage, fmt.Sprintf("record type %d", b[0]))
	}
	size := int(binary.BigEndian.Uint16(b[3:]))
	max := maxCiphertext12
	if c.tls13() {
		max = maxCiphertext13
	}
	if size > max {
		return 0, fail(AlertRecordOverflow, fmt.Sprintf("record of %d bytes", size))
	}
	return HeaderLen + size, nil
}
