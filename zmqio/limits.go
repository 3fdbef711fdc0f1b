package zmqio

import "github.com/condure-go/condure/zhttp"

// The largest message a handler may send, derived from the flags, is set as
// ZMQ_MAXMSGSIZE on every socket that receives from handlers: a bigger one
// never reaches the server's memory. libzmq checks each frame's size in the
// frame header, before allocating it, and on a bigger frame closes that
// connection (the frame, and whatever that peer had queued behind it, are
// lost); other connections are untouched and a handler that connected
// reconnects by itself. The hub's queues to the workers (ring.go) only
// carry what the bound sockets let in.

// StreamMessageLimit is the largest stream-mode handler message,
// "<instance-id> T<dict>": a body of at most --buffer-size bytes (the
// credits the server grants), a response head of at most --buffer-size
// (condure writes it into a buffer of that size), and MaxPacketSize for
// everything else (up to 128 ids, from, ext: the bound the server's own
// packets keep to). 81392 bytes with the defaults.
func StreamMessageLimit(instanceID string, bufferSize int) int64 {
	return int64(2*bufferSize+zhttp.MaxPacketSize) + int64(len(instanceID)+1)
}

// ReqMessageLimit is the largest frame of a req-mode reply: a body of at
// most --body-buffer-size (condure fails a bigger one), a head of at most
// --buffer-size, and MaxPacketSize for the rest. 173192 bytes with the
// defaults.
func ReqMessageLimit(bufferSize, bodyBufferSize int) int64 {
	return int64(bufferSize+bodyBufferSize) + zhttp.MaxPacketSize
}
