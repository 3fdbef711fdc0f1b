package main

import (
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/condure-go/condure/internal/logging"
	"github.com/condure-go/condure/server"
)

// drainSignal starts a drain, as it makes nginx finish gracefully; SIGTERM
// and SIGINT keep condure's fast stop.
const drainSignal = syscall.SIGQUIT

// app is a started server.
type app struct {
	workers []*server.Worker
	owned   []int  // shared listening sockets opened here (not inherited)
	stop    func() // the usual stop: cancels for what is left, exit
}

// drain stops accepting and waits, at most timeout, for every worker's
// connections to finish; another signal cuts it short. The caller then
// stops as usual. Sockets inherited from systemd stay open until exit,
// and systemd holds them too, so connections arriving meanwhile wait in
// the kernel for the next process; sockets opened here close at once, so
// a replacement can take the address (or, with SO_REUSEPORT, already has).
func (a *app) drain(timeout time.Duration, sigs <-chan os.Signal) {
	logging.Info(target, "draining (at most %v)...", timeout)
	for _, w := range a.workers {
		w.Drain()
	}
	for _, fd := range a.owned {
		unix.Close(fd) // the workers' dups keep it open until they let go
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for _, w := range a.workers {
		select {
		case <-w.Drained():
		case <-deadline.C:
			logging.Info(target, "drain timeout: stopping what is left")
			return
		case sig := <-sigs:
			logging.Info(target, "%v while draining: stopping what is left", sig)
			return
		}
	}
	logging.Info(target, "drained")
}
