// Package proc reads what the load tools measure about a process from
// /proc: CPU time (utime+stime), resident memory, thread count and the time
// since the process started. The parsers are pure and take the file
// contents; the Read* helpers open the files.
package proc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Stat holds the fields of /proc/PID/stat the tools use. Times are in clock
// ticks (see ClkTck).
type Stat struct {
	State      byte
	UTime      uint64 // field 14
	STime      uint64 // field 15
	NumThreads int64  // field 20
	StartTime  uint64 // field 22: ticks since boot
	RSSPages   int64  // field 24
}

// ParseStat parses the contents of /proc/PID/stat. The command name (field
// 2) is in parentheses and may itself contain spaces and parentheses, so the
// fields are counted from the last ')'.
func ParseStat(b []byte) (Stat, error) {
	var s Stat
	end := bytes.LastIndexByte(b, ')')
	if end < 0 {
		return s, errors.New("proc stat: no ')'")
	}
	f := bytes.Fields(b[end+1:])
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 22 {
		return s, fmt.Errorf("proc stat: %d fields after comm, want ≥22", len(f))
	}
	field := func(n int) []byte { return f[n-3] }
	if len(field(3)) != 1 {
		return s, errors.New("proc stat: bad state field")
	}
	s.State = field(3)[0]
	var err error
	u := func(n int) uint64 {
		v, e := strconv.ParseUint(string(field(n)), 10, 64)
		if e != nil && err == nil {
			err = fmt.Errorf("proc stat field %d: %w", n, e)
		}
		return v
	}
	i := func(n int) int64 {
		v, e := strconv.ParseInt(string(field(n)), 10, 64)
		if e != nil && err == nil {
			err = fmt.Errorf("proc stat field %d: %w", n, e)
		}
		return v
	}
	s.UTime, s.STime = u(14), u(15)
	s.NumThreads = i(20)
	s.StartTime = u(22)
	s.RSSPages = i(24)
	return s, err
}

// Status holds memory figures from /proc/PID/status, in KiB.
type Status struct {
	VmRSS, VmHWM, VmSize       int64
	RssAnon, RssFile, RssShmem int64
	Threads                    int64
}

// ParseStatus parses /proc/PID/status. VmRSS is required; the rest are
// filled in when present (kernel threads and old kernels lack some).
func ParseStatus(b []byte) (Status, error) {
	var s Status
	seen := false
	for len(b) > 0 {
		var line []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			line, b = b, nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		key := string(line[:colon])
		var dst *int64
		switch key {
		case "VmRSS":
			dst, seen = &s.VmRSS, true
		case "VmHWM":
			dst = &s.VmHWM
		case "VmSize":
			dst = &s.VmSize
		case "RssAnon":
			dst = &s.RssAnon
		case "RssFile":
			dst = &s.RssFile
		case "RssShmem":
			dst = &s.RssShmem
		case "Threads":
			dst = &s.Threads
		default:
			continue
		}
		f := bytes.Fields(line[colon+1:])
		if len(f) == 0 {
			return s, fmt.Errorf("proc status: empty %s", key)
		}
		v, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return s, fmt.Errorf("proc status %s: %w", key, err)
		}
		*dst = v
	}
	if !seen {
		return s, errors.New("proc status: no VmRSS")
	}
	return s, nil
}

// ParseKB parses "Key:   123 kB" lines (smaps_rollup, meminfo) into a map of
// KiB values. Lines that do not look like that are skipped.
func ParseKB(b []byte) map[string]int64 {
	m := map[string]int64{}
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		f := bytes.Fields(line[colon+1:])
		if len(f) != 2 || string(f[1]) != "kB" {
			continue
		}
		v, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			continue
		}
		m[string(line[:colon])] = v
	}
	return m
}

// ParseUptime parses /proc/uptime and returns the first number (seconds
// since boot, CLOCK_BOOTTIME, the clock StartTime counts in).
func ParseUptime(b []byte) (float64, error) {
	f := bytes.Fields(b)
	if len(f) == 0 {
		return 0, errors.New("proc uptime: empty")
	}
	return strconv.ParseFloat(string(f[0]), 64)
}

// atClkTck is the auxiliary vector key for the clock tick rate.
const atClkTck = 17

// ParseAuxv looks key up in an auxiliary vector (pairs of native-endian
// machine words, 64-bit here) and returns its value.
func ParseAuxv(b []byte, key uint64) (uint64, bool) {
	for len(b) >= 16 {
		k := binary.NativeEndian.Uint64(b)
		v := binary.NativeEndian.Uint64(b[8:])
		if k == 0 { // AT_NULL
			break
		}
		if k == key {
			return v, true
		}
		b = b[16:]
	}
	return 0, false
}

var clk struct {
	once sync.Once
	tck  uint64
}

// ClkTck returns the kernel's USER_HZ (sysconf(_SC_CLK_TCK)) without cgo,
// from AT_CLKTCK in /proc/self/auxv; 100 if that cannot be read.
func ClkTck() uint64 {
	clk.once.Do(func() {
		clk.tck = 100
		if b, err := os.ReadFile("/proc/self/auxv"); err == nil {
			if v, ok := ParseAuxv(b, atClkTck); ok && v > 0 {
				clk.tck = v
			}
		}
	})
	return clk.tck
}

// Sample is one measurement of a process.
type Sample struct {
	Time     time.Time
	CPU      float64 // on-CPU time of its threads (schedstat, ns precision), or utime+stime; seconds
	RSS      int64   // VmRSS, KiB
	Anon     int64   // RssAnon, KiB
	HWM      int64   // VmHWM, KiB
	Threads  int64
	SinceRun float64 // seconds since the process started (0 if unknown)
	Private  int64   // smaps_rollup Private_Clean+Private_Dirty, KiB (0 if unavailable)
	// On-CPU seconds of the live threads by class (ThreadClass of their
	// names): the worker, hub and libzmq I/O threads apart.
	ThreadCPU map[string]float64
}

// ThreadClass groups a thread by its name: trailing digits and separators
// are dropped, so "worker-0" and "worker-1" are "worker", "ZMQbg/IO/0" is
// "ZMQbg/IO" (condure names its threads as the reference does; Go runtime
// threads carry the process name).
func ThreadClass(comm string) string {
	comm = strings.TrimSpace(comm)
	if c := strings.TrimRight(strings.TrimRight(comm, "0123456789"), "-/_"); c != "" {
		return c
	}
	return comm
}

// Take samples pid ("self" works too when pid is 0).
func Take(pid int) (Sample, error) {
	dir := "/proc/self"
	if pid > 0 {
		dir = "/proc/" + strconv.Itoa(pid)
	}
	s := Sample{Time: time.Now()}
	b, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return s, err
	}
	st, err := ParseStat(b)
	if err != nil {
		return s, err
	}
	tck := float64(ClkTck())
	s.CPU = float64(st.UTime+st.STime) / tck
	if ns, ok := threadsRunNs(dir, &s.ThreadCPU); ok {
		s.CPU = float64(ns) / 1e9 // 10 ms ticks are too coarse for an idle server
	}
	s.Threads = st.NumThreads
	if ub, err := os.ReadFile("/proc/uptime"); err == nil {
		if up, err := ParseUptime(ub); err == nil {
			s.SinceRun = up - float64(st.StartTime)/tck
		}
	}
	b, err = os.ReadFile(dir + "/status")
	if err != nil {
		return s, err
	}
	ss, err := ParseStatus(b)
	if err != nil {
		return s, err
	}
	s.RSS, s.Anon, s.HWM = ss.VmRSS, ss.RssAnon, ss.VmHWM
	if b, err := os.ReadFile(dir + "/smaps_rollup"); err == nil {
		m := ParseKB(b)
		s.Private = m["Private_Clean"] + m["Private_Dirty"]
	}
	return s, nil
}

// RSS returns pid's VmRSS in KiB, or 0 when pid is 0 (not given) or its
// status cannot be read (reported on stderr): for the tools that report
// a server's memory only when told its pid.
func RSS(pid int) int64 {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err == nil {
		var s Status
		if s, err = ParseStatus(b); err == nil {
			return s.VmRSS
		}
	}
	fmt.Fprintln(os.Stderr, err)
	return 0
}

// SockStat is the TCP line of /proc/net/sockstat: sockets in use, orphans,
// TIME_WAIT sockets, allocated sockets and the pages of buffer memory.
type SockStat struct {
	InUse, Orphan, TW, Alloc, MemPages int64
}

// ParseSockStat parses /proc/net/sockstat.
func ParseSockStat(b []byte) (SockStat, error) {
	var s SockStat
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		rest, ok := bytes.CutPrefix(line, []byte("TCP:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseInt(string(f[i+1]), 10, 64)
			if err != nil {
				return s, fmt.Errorf("sockstat %s: %w", f[i], err)
			}
			switch string(f[i]) {
			case "inuse":
				s.InUse = v
			case "orphan":
				s.Orphan = v
			case "tw":
				s.TW = v
			case "alloc":
				s.Alloc = v
			case "mem":
				s.MemPages = v
			}
		}
		return s, nil
	}
	return s, errors.New("sockstat: no TCP line")
}

// ReadSockStat reads /proc/net/sockstat of this network namespace.
func ReadSockStat() (SockStat, error) {
	b, err := os.ReadFile("/proc/net/sockstat")
	if err != nil {
		return SockStat{}, err
	}
	return ParseSockStat(b)
}

// CPUTimes is the aggregate "cpu" line of /proc/stat, in clock ticks.
// Task is user+nice+system: time charged to processes. IRQ is irq+softirq,
// which (with IRQ time accounting) no process is charged for; on loopback
// most of the TCP stack runs there.
type CPUTimes struct {
	Task, IRQ, Steal, Idle uint64
}

// ParseCPUTimes parses the first line of /proc/stat (guest time is already
// inside user and nice).
func ParseCPUTimes(b []byte) (CPUTimes, error) {
	var c CPUTimes
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	f := bytes.Fields(line)
	if len(f) < 8 || string(f[0]) != "cpu" {
		return c, errors.New("proc stat: no cpu line")
	}
	var v [8]uint64
	for i := range v {
		if i+1 >= len(f) {
			break
		}
		n, err := strconv.ParseUint(string(f[i+1]), 10, 64)
		if err != nil {
			return c, fmt.Errorf("proc stat cpu: %w", err)
		}
		v[i] = n
	}
	c.Task = v[0] + v[1] + v[2]
	c.Idle = v[3] + v[4]
	c.IRQ = v[5] + v[6]
	c.Steal = v[7]
	return c, nil
}

// ReadCPUTimes reads /proc/stat.
func ReadCPUTimes() (CPUTimes, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return CPUTimes{}, err
	}
	return ParseCPUTimes(b)
}

// threadsRunNs sums the on-CPU nanoseconds of a process's live threads
// (the first field of each /proc/PID/task/TID/schedstat).
// byClass, when not nil, gets the seconds per ThreadClass.
func threadsRunNs(dir string, byClass *map[string]float64) (int64, bool) {
	tasks, err := os.ReadDir(dir + "/task")
	if err != nil {
		return 0, false
	}
	var sum int64
	if byClass != nil {
		*byClass = map[string]float64{}
	}
	for _, t := range tasks {
		b, err := os.ReadFile(dir + "/task/" + t.Name() + "/schedstat")
		if err != nil {
			continue // the thread exited meanwhile
		}
		ns, ok := ParseSchedstat(b)
		if !ok {
			return 0, false
		}
		sum += ns
		if byClass != nil {
			if comm, err := os.ReadFile(dir + "/task/" + t.Name() + "/comm"); err == nil {
				(*byClass)[ThreadClass(string(comm))] += float64(ns) / 1e9
			}
		}
	}
	return sum, len(tasks) > 0
}

// ParseSchedstat returns the first field of a schedstat file: time spent
// on the CPU, in nanoseconds.
func ParseSchedstat(b []byte) (int64, bool) {
	f := strings.Fields(string(b))
	if len(f) < 1 {
		return 0, false
	}
	ns, err := strconv.ParseInt(f[0], 10, 64)
	return ns, err == nil
}
