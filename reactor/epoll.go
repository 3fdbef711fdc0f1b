package reactor

import (
	"fmt"

	"golang.org/x/sys/unix"
)

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

// Poller wraps one epoll instance. Fds are registered once, edge-triggered:
// an event is reported when readiness changes, so the owner must read or
// write until EAGAIN (or remember that it stopped early) before waiting again.
//
// The tag is opaque to the poller; callers pack a slot index and a generation
// into it so that an event still queued for a closed-and-reused fd can be
// recognised and dropped.
//
// A Poller is used by its owning thread only.
type Poller struct {
	epfd   int
	raw    []unix.EpollEvent // filled by the kernel
	events []Event           // converted view returned by Wait
}

// NewPoller creates an epoll instance able to report up to maxEvents per Wait.
func NewPoller(maxEvents int) (*Poller, error) {
	if maxEvents < 1 {
		maxEvents = 1
	}
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll instance: %w", err)
	}
	return &Poller{
		epfd:   epfd,
		raw:    make([]unix.EpollEvent, maxEvents),
		events: make([]Event, maxEvents),
	}, nil
}

// epollEvent builds the kernel structure: EPOLLET is always set, and the
// 64-bit tag fills the 8-byte data union (Fd holds the low half, Pad the high
// half; the kernel never interprets them).
func epollEvent(events uint32, tag uint64) unix.EpollEvent {
	return unix.EpollEvent{
		Events: events | unix.EPOLLET,
		Fd:     int32(uint32(tag)),
		Pad:    int32(uint32(tag >> 32)),
	}
}

func eventTag(ev *unix.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}

// Add registers fd edge-triggered (EPOLLET is added) for events, reporting tag.
func (p *Poller) Add(fd int, events uint32, tag uint64) error {
	ev := epollEvent(events, tag)
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("epoll registration of fd %d: %w", fd, err)
	}
	return nil
}

// Mod changes the events or tag of a registered fd.
func (p *Poller) Mod(fd int, events uint32, tag uint64) error {
	ev := epollEvent(events, tag)
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, fd, &ev); err != nil {
		return fmt.Errorf("epoll modification of fd %d: %w", fd, err)
	}
	return nil
}

// Del unregisters fd (closing the fd also does this).
func (p *Poller) Del(fd int) error {
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil); err != nil {
		return fmt.Errorf("epoll removal of fd %d: %w", fd, err)
	}
	return nil
}

// Wait blocks up to timeoutMs (-1 forever, 0 poll) through the scheduler-aware
// unix.EpollWait and returns the ready events; the slice is reused by the next
// Wait. EINTR returns an empty slice and nil.
//
// Wait does not allocate.
func (p *Poller) Wait(timeoutMs int) ([]Event, error) {
	n, err := unix.EpollWait(p.epfd, p.raw, timeoutMs)
	if err != nil {
		if err == unix.EINTR {
			return p.events[:0], nil
		}
		return p.events[:0], fmt.Errorf("epoll wait: %w", err)
	}
	out := p.events[:n]
	for i := range out {
		out[i] = Event{Tag: eventTag(&p.raw[i]), Events: p.raw[i].Events}
	}
	return out, nil
}

// Close closes the epoll instance; registered fds are not closed.
func (p *Poller) Close() error {
	if p.epfd < 0 {
		return nil
	}
	err := unix.Close(p.epfd)
	p.epfd = -1
	if err != nil {
		return fmt.Errorf("epoll close: %w", err)
	}
	return nil
}
