package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/condure-go/condure/bench/internal/proc"
)

// Syscalls of the server over the measured window, by kind and by thread
// class, counted in the kernel by `perf stat` on the syscall tracepoints
// (a counter each, no per-event record: cheap enough to leave on in the
// same window). perf starts with its counters disabled and is enabled and
// disabled through its control fifo at the window's edges, so the counts
// match the requests counted.

// syscallKinds are counted one by one; "total" is every syscall, and the
// report shows what the listed ones leave as "other".
var syscallKinds = []string{
	"read", "readv", "write", "writev", "recvfrom", "sendto", "recvmsg", "sendmsg",
	"getpid", "poll", "ppoll", "epoll_wait", "epoll_pwait", "epoll_ctl", "futex",
	"nanosleep", "sched_yield", "accept4", "close", "madvise", "mmap", "munmap",
}

type perfStat struct {
	cmd      *exec.Cmd
	dir      string
	ctl, ack *os.File
	out      bytes.Buffer
}

// startPerfStat attaches perf to pids, counters off. It fails when perf is
// missing or not allowed (perf_event_paranoid, not root).
func startPerfStat(perf string, pids []int) (*perfStat, error) {
	dir, err := os.MkdirTemp("", "loadgen-perf-")
	if err != nil {
		return nil, err
	}
	p := &perfStat{dir: dir}
	ctl, ack := filepath.Join(dir, "ctl"), filepath.Join(dir, "ack")
	for _, f := range []string{ctl, ack} {
		if err := unix.Mkfifo(f, 0o600); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	events := []string{"raw_syscalls:sys_enter"}
	for _, k := range syscallKinds {
		events = append(events, "syscalls:sys_enter_"+k)
	}
	ps := make([]string, len(pids))
	for i, pid := range pids {
		ps[i] = strconv.Itoa(pid)
	}
	p.cmd = exec.Command(perf, "stat", "-x,", "--per-thread", "-D", "-1", "--control", "fifo:"+ctl+","+ack,
		"-e", strings.Join(events, ","), "-p", strings.Join(ps, ","))
	p.cmd.Stderr = &p.out
	if err := p.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// Opening a fifo blocks until the other side opens it: bounded, in case
	// perf exits at once.
	opened := make(chan error, 1)
	go func() {
		var err error
		if p.ctl, err = os.OpenFile(ctl, os.O_WRONLY, 0); err == nil {
			p.ack, err = os.OpenFile(ack, os.O_RDONLY, 0)
		}
		opened <- err
	}()
	select {
	case err = <-opened:
	case <-time.After(5 * time.Second):
		err = errors.New("perf did not open its control fifo")
	}
	if err != nil {
		p.kill()
		return nil, fmt.Errorf("perf stat: %v (%s)", err, strings.TrimSpace(p.out.String()))
	}
	return p, nil
}

// command sends "enable" or "disable" and waits for perf's ack.
func (p *perfStat) command(c string) error {
	if _, err := p.ctl.WriteString(c + "\n"); err != nil {
		return err
	}
	p.ack.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 16)
	_, err := p.ack.Read(buf)
	return err
}

func (p *perfStat) kill() {
	if p.cmd.Process != nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
	}
	p.close()
}

func (p *perfStat) close() {
	if p.ctl != nil {
		p.ctl.Close()
	}
	if p.ack != nil {
		p.ack.Close()
	}
	os.RemoveAll(p.dir)
}

// stop ends perf and returns its counts by kind ("total" for all) and the
// totals by thread class (proc.ThreadClass).
func (p *perfStat) stop() (byKind, byThread map[string]int64, err error) {
	p.cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
	p.close()
	byKind, byThread = parsePerfStat(p.out.Bytes())
	if byKind["total"] == 0 {
		return nil, nil, fmt.Errorf("perf stat counted nothing: %s", strings.TrimSpace(p.out.String()))
	}
	return byKind, byThread, nil
}

// parsePerfStat reads `perf stat -x, --per-thread` lines:
// "<comm>-<tid>,<count>,<unit>,<event>,...".
func parsePerfStat(b []byte) (byKind, byThread map[string]int64) {
	byKind, byThread = map[string]int64{}, map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ",")
		if len(f) < 4 {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue // "<not counted>"
		}
		comm := f[0]
		if i := strings.LastIndexByte(comm, '-'); i > 0 {
			comm = comm[:i]
		}
		switch ev := f[3]; {
		case ev == "raw_syscalls:sys_enter":
			byKind["total"] += n
			byThread[proc.ThreadClass(comm)] += n
		case strings.HasPrefix(ev, "syscalls:sys_enter_"):
			byKind[strings.TrimPrefix(ev, "syscalls:sys_enter_")] += n
		}
	}
	return byKind, byThread
}
