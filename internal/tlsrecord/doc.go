// Package tlsrecord is the TLS 1.2 and 1.3 record layer for the AEAD
// cipher suites, for use after crypto/tls has done the handshake: bytes in,
// bytes out, no I/O, no goroutines, no allocation per record.
//
// A Conn is one connection's record state: the traffic keys and IVs of both
// directions, their sequence numbers and (TLS 1.3) the traffic secrets that
// KeyUpdate derives the next keys from. It holds no pointers and is
// ConnSize bytes, so it can live in a slab. The AEADs built from the keys
// are kept apart, in a Ciphers, which the owner keeps while the connection
// is busy and drops when it goes idle (building an AES-GCM pair costs about
// a microsecond and 1.8 KiB; keeping one per idle connection would be most
// of an idle TLS connection's memory).
//
// Keys come from the handshake's secrets as crypto/tls writes them to
// tls.Config.KeyLogWriter (NSS key log format, see ParseKeyLogLine): the
// TLS 1.3 client and server application traffic secrets, or the TLS 1.2
// master secret with both hellos' randoms. Sequence numbers at the switch
// are found by SyncOut / SyncIn from the records the handshake exchanged.
//
// Reading handles what may follow a handshake: application data, KeyUpdate
// (TLS 1.3, answered when the peer requests it), close_notify, warning
// alerts (TLS 1.2) and user_canceled (TLS 1.3) skipped, fatal alerts, a
// bounded run of empty records. Anything else (renegotiation, a
// post-handshake message other than KeyUpdate, change_cipher_spec) is an
// *Error naming the alert to send before closing.
package tlsrecord
