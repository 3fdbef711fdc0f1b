// Package zmqio is the ZeroMQ side of ZHTTP: the sockets of a worker
// (socket.go, recv.go, send.go), the bind-mode hub that owns the bound
// endpoints and routes handler packets to the worker that issued their ids
// (hub.go, hub_lanes.go, blocks.go), the socket monitors (monitor.go) and
// the message-size limits set on sockets that receive from handlers
// (limits.go). The packets themselves are package zhttp's, which needs
// neither cgo nor libzmq.
//
// The hot paths call libzmq through cgo directly (zmq4 allocates per
// message). Their C helpers, declared in the cgo preambles of recv.go,
// send.go and hub_lanes.go on top of zmqcall.h, keep one convention for
// errors, so a reader need not check each:
//
//   - A call that receives returns a count (bytes or frames, ≥ 0) or
//     -errno: negative means failed, and -EAGAIN means "nothing queued"
//     (condure_route_recv, whose count of frames is never 0 otherwise,
//     returns 0 for it). Go reads the error back as syscall.Errno(-n).
//   - A call that sends returns 0 or a positive errno: EAGAIN means the
//     high-water mark (nothing was sent; the socket's ZMQ_FD fires again
//     when there is room), EHOSTUNREACH an unknown ROUTER peer. Only a
//     message's first frame can fail: libzmq takes the rest of a message
//     once it took the first frame.
//   - A call that moves many messages (the hub's lanes, and their helpers
//     such as park_recv) returns what stopped it, counts EHOSTUNREACH drops
//     in *unroutable and keeps any other errno in *err for Go to log.
//   - Every call retries EINTR (zmqcall.h): a signal (the Go runtime's
//     preemption) is not "empty", and only EAGAIN re-arms the
//     edge-triggered ZMQ_FD.
//
// A socket is used only by the goroutine (locked OS thread) that created
// it. See docs/design.md "Threads" and "ZeroMQ in epoll".
package zmqio
