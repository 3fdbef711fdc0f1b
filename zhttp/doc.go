// Package zhttp is the ZHTTP codec: tnetstrings (tnetstring.go), the
// packets built of them (packet.go: parse into zero-copy views, serialize
// into a caller's buffer) and session ids (id.go). It is pure, bytes in and
// bytes out, with neither cgo nor configuration: it builds, tests and fuzzes
// without libzmq (CGO_ENABLED=0 go test ./zhttp). The ZeroMQ sockets that
// carry the packets are package zmqio; map-based helpers for tests and
// example handlers are package zhttp/zhttptest. docs/zhttp.md describes
// the protocol; comments cite docs/reference.md's sections as "§N.M".
package zhttp
