// Package reactor is the generic event-loop toolkit of a worker: an
// edge-triggered epoll poller, an eventfd waker, a slab of connection slots
// with generation tags, a hierarchical timer wheel, and socket helpers
// (listen, accept4 with EMFILE back-off, read, writev). It knows nothing about
// HTTP or ZeroMQ beyond "this fd is ready". Everything except Waker.Wake is
// used by the one thread that owns the worker.
package reactor

import "golang.org/x/sys/unix"

// Event bits as epoll reports them.
const (
	EvIn    = unix.EPOLLIN
	EvOut   = unix.EPOLLOUT
	EvRdHup = unix.EPOLLRDHUP
	EvHup   = unix.EPOLLHUP
	EvErr   = unix.EPOLLERR
)

// Event is one readiness report: the 64-bit tag given to Add, and the event bits.
type Event struct {
	Tag    uint64
	Events uint32
}

// Poller wraps one epoll instance. Fds are registered once, edge-triggered.
type Poller struct{}

// NewPoller creates an epoll instance able to report up to maxEvents per Wait.
func NewPoller(maxEvents int) (*Poller, error) { panic("todo") }

// Add registers fd edge-triggered (EPOLLET is added) for events, reporting tag.
func (p *Poller) Add(fd int, events uint32, tag uint64) error { panic("todo") }

// Mod changes the events or tag of a registered fd.
func (p *Poller) Mod(fd int, events uint32, tag uint64) error { panic("todo") }

// Del unregisters fd (closing the fd also does this).
func (p *Poller) Del(fd int) error { panic("todo") }

// Wait blocks up to timeoutMs (-1 forever, 0 poll) through the scheduler-aware
// unix.EpollWait and returns the ready events; the slice is reused by the next
// Wait. EINTR returns an empty slice and nil.
func (p *Poller) Wait(timeoutMs int) ([]Event, error) { panic("todo") }

func (p *Poller) Close() error { panic("todo") }

// Waker is an eventfd other threads use to wake the poller; wake-ups are
// coalesced with an atomic flag so a burst costs one write.
type Waker struct{}

func NewWaker() (*Waker, error) { panic("todo") }

// Fd is registered in the owner's poller with EvIn.
func (w *Waker) Fd() int { panic("todo") }

// Wake may be called from any goroutine.
func (w *Waker) Wake() { panic("todo") }

// Drain is called by the owner when Fd is readable, before it looks at its queue.
func (w *Waker) Drain() { panic("todo") }

func (w *Waker) Close() error { panic("todo") }

// Slab is a fixed-capacity pool of T addressed by int32 index, with a
// generation per slot bumped on every Free so stale references can be told
// apart. T should be pointer-free so the GC has nothing to scan.
type Slab[T any] struct{}

func NewSlab[T any](capacity int) *Slab[T] { panic("todo") }

// Alloc takes a free slot (zeroed) and returns its index and generation; ok is
// false when the slab is full.
func (s *Slab[T]) Alloc() (idx int32, gen uint32, ok bool) { panic("todo") }

// Free returns a slot; its generation is bumped.
func (s *Slab[T]) Free(idx int32) { panic("todo") }

// Get returns the slot (valid whether or not in use).
func (s *Slab[T]) Get(idx int32) *T { panic("todo") }

// Gen returns the slot's current generation; InUse whether it is allocated.
func (s *Slab[T]) Gen(idx int32) uint32 { panic("todo") }
func (s *Slab[T]) InUse(idx int32) bool { panic("todo") }
func (s *Slab[T]) Len() int            { panic("todo") } // slots in use
func (s *Slab[T]) Cap() int            { panic("todo") }

// TimerWheel is a hierarchical timing wheel over a fixed set of timer ids
// 0..capacity-1 (e.g. one per connection slot and kind). Schedule and Cancel
// are O(1); Advance runs expired timers. Time is in ticks of the caller's
// choosing (condure uses 10 ms). Pointer-free: nodes are indices.
type TimerWheel struct{}

// NewTimerWheel makes a wheel for timer ids [0, capacity), starting at tick now.
func NewTimerWheel(capacity int, now uint64) *TimerWheel { panic("todo") }

// Schedule (re)arms timer id to fire at tick `at` (a past tick fires on the
// next Advance). Re-scheduling an armed timer moves it.
func (w *TimerWheel) Schedule(id int32, at uint64) { panic("todo") }

// Cancel disarms timer id; no-op if not armed.
func (w *TimerWheel) Cancel(id int32) { panic("todo") }

// Armed reports whether id is scheduled.
func (w *TimerWheel) Armed(id int32) bool { panic("todo") }

// Advance moves the wheel to tick now and calls fire for every timer whose
// tick is ≤ now (each is disarmed before fire is called; fire may Schedule or
// Cancel any timer, including the one firing).
func (w *TimerWheel) Advance(now uint64, fire func(id int32)) { panic("todo") }

// Next returns the tick of the earliest armed timer, or ok=false when none are
// armed (an upper bound is acceptable if exact is costly: never later than the
// real earliest).
func (w *TimerWheel) Next() (tick uint64, ok bool) { panic("todo") }

// Listen opens a non-blocking TCP listener on addr ("host:port", IPv6 in
// brackets) with SO_REUSEADDR, and SO_REUSEPORT when reusePort is set (one
// listener per worker on the same port).
func Listen(addr string, reusePort bool, backlog int) (fd int, err error) { panic("todo") }

// ListenUnix opens a non-blocking unix-socket listener at path, removing a stale file first.
func ListenUnix(path string, backlog int) (fd int, err error) { panic("todo") }

// Acceptor accepts connections from a listener fd with accept4
// (SOCK_NONBLOCK|SOCK_CLOEXEC), setting TCP_NODELAY and SO_KEEPALIVE on TCP
// sockets. It keeps one reserve fd: on EMFILE/ENFILE it closes the reserve,
// accepts and closes the pending connection, reopens the reserve, and reports
// ErrFdLimit so the caller backs off (it must not spin).
type Acceptor struct{}

func NewAcceptor() (*Acceptor, error) { panic("todo") }

// Accept returns one connection, or unix.EAGAIN when none is pending.
// peer is the peer address (zero for unix sockets).
func (a *Acceptor) Accept(lfd int) (fd int, peer unix.Sockaddr, err error) { panic("todo") }

func (a *Acceptor) Close() error { panic("todo") }

// Read reads into buf; it returns unix.EAGAIN when nothing is available and
// (0, nil) at EOF. EINTR is retried.
func Read(fd int, buf []byte) (int, error) { panic("todo") }

// Writer does writev with a preallocated iovec array (at most 1024 entries):
// no allocation per call.
type Writer struct{}

// Writev writes bufs in one writev call (skipping empty ones) and returns the
// bytes written; unix.EAGAIN when the socket is full. EINTR is retried.
func (w *Writer) Writev(fd int, bufs [][]byte) (int, error) { panic("todo") }

// Advance drops n written bytes from the front of bufs in place (partial
// writes) and returns the remaining buffers (first one resliced).
func Advance(bufs [][]byte, n int) [][]byte { panic("todo") }

// SockaddrString formats a peer address as ZHTTP wants it: IP text (IPv6
// without brackets) and port; ok=false for unix sockets. Appends to dst.
func AppendSockaddrIP(dst []byte, sa unix.Sockaddr) (out []byte, port int, ok bool) { panic("todo") }
