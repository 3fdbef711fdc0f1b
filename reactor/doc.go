// Package reactor is the generic event-loop toolkit of a worker: an
// edge-triggered epoll poller, an eventfd waker, a slab of connection slots
// with generation tags, a hierarchical timer wheel, and socket helpers
// (listen, accept4 with EMFILE back-off, read, writev). It knows nothing about
// HTTP or ZeroMQ beyond "this fd is ready".
//
// Threading: everything except Waker.Wake is used by the one thread that owns
// the worker; none of the types lock.
//
// Files, one concern each: epoll.go (Poller), waker.go (Waker), slab.go
// (Slab), timerwheel.go (TimerWheel), socket.go (Listen, Acceptor, Read,
// address helpers), writev.go (Writer, Advance).
package reactor
