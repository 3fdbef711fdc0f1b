package proc

import (
	"encoding/binary"
	"golang.org/x/sys/unix"
	"os"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	// The comm field holds spaces and a ')' of its own.
	line := "4242 (my (weird) prog) S 1 4242 4242 0 -1 4194560 1234 0 5 0 " +
		"250 75 0 0 20 0 7 0 98765 1048576000 3000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	s, err := ParseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if s.State != 'S' || s.UTime != 250 || s.STime != 75 || s.NumThreads != 7 || s.StartTime != 98765 || s.RSSPages != 3000 {
		t.Fatalf("got %+v", s)
	}
	if _, err := ParseStat([]byte("12 (x) S 1 2 3")); err == nil {
		t.Fatal("short stat accepted")
	}
	if _, err := ParseStat([]byte("no paren here")); err == nil {
		t.Fatal("stat without comm accepted")
	}
}

func TestParseStatus(t *testing.T) {
	in := "Name:\tcondure\nUmask:\t0022\nState:\tS (sleeping)\nVmPeak:\t  200000 kB\nVmSize:\t  180000 kB\n" +
		"VmHWM:\t   50000 kB\nVmRSS:\t   41234 kB\nRssAnon:\t   30000 kB\nRssFile:\t   11234 kB\nRssShmem:\t       0 kB\nThreads:\t5\n"
	s, err := ParseStatus([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := Status{VmRSS: 41234, VmHWM: 50000, VmSize: 180000, RssAnon: 30000, RssFile: 11234, Threads: 5}
	if s != want {
		t.Fatalf("got %+v want %+v", s, want)
	}
	if _, err := ParseStatus([]byte("Name:\tkthreadd\nThreads:\t1\n")); err == nil {
		t.Fatal("status without VmRSS accepted")
	}
	if _, err := ParseStatus([]byte("VmRSS:\tlots kB\n")); err == nil {
		t.Fatal("bad number accepted")
	}
}

func TestParseKB(t *testing.T) {
	in := "00400000-7ffd0000 ---p 00000000 00:00 0                      [rollup]\n" +
		"Rss:               12345 kB\nPss:                9000 kB\nPrivate_Clean:        10 kB\nPrivate_Dirty:      8000 kB\nTHPeligible:    0\n"
	m := ParseKB([]byte(in))
	if m["Rss"] != 12345 || m["Pss"] != 9000 || m["Private_Dirty"] != 8000 || m["Private_Clean"] != 10 {
		t.Fatalf("got %v", m)
	}
	if _, ok := m["THPeligible"]; ok {
		t.Fatal("unitless line parsed")
	}
}

func TestParseUptime(t *testing.T) {
	v, err := ParseUptime([]byte("350735.47 234388.90\n"))
	if err != nil || v != 350735.47 {
		t.Fatalf("got %v %v", v, err)
	}
	if _, err := ParseUptime(nil); err == nil {
		t.Fatal("empty uptime accepted")
	}
}

func TestParseAuxv(t *testing.T) {
	var b []byte
	for _, kv := range [][2]uint64{{33, 0x7fff0000}, {16, 0xbfebfbff}, {6, 4096}, {17, 250}, {0, 0}, {17, 999}} {
		b = binary.NativeEndian.AppendUint64(b, kv[0])
		b = binary.NativeEndian.AppendUint64(b, kv[1])
	}
	if v, ok := ParseAuxv(b, 17); !ok || v != 250 {
		t.Fatalf("AT_CLKTCK = %d %v", v, ok)
	}
	if _, ok := ParseAuxv(b, 99); ok {
		t.Fatal("found a key past AT_NULL")
	}
}

func TestTakeSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	if tck := ClkTck(); tck == 0 {
		t.Fatal("ClkTck 0")
	}
	s, err := Take(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.RSS <= 0 || s.Threads <= 0 || s.SinceRun < 0 {
		t.Fatalf("implausible sample %+v", s)
	}
}

func TestParseSockStat(t *testing.T) {
	in := "sockets: used 30123\nTCP: inuse 30005 orphan 0 tw 12 alloc 30010 mem 153\nUDP: inuse 1 mem 0\n"
	s, err := ParseSockStat([]byte(in))
	if err != nil || s != (SockStat{InUse: 30005, TW: 12, Alloc: 30010, MemPages: 153}) {
		t.Fatalf("%+v %v", s, err)
	}
	if _, err := ParseSockStat([]byte("sockets: used 1\n")); err == nil {
		t.Fatal("no TCP line accepted")
	}
	if _, err := ParseSockStat([]byte("TCP: inuse x\n")); err == nil {
		t.Fatal("bad number accepted")
	}
}

func TestParseCPUTimes(t *testing.T) {
	in := "cpu  100 5 50 1000 20 3 2 1 7 0\ncpu0 50 2 25 500 10 1 1 0 3 0\nintr 1\n"
	c, err := ParseCPUTimes([]byte(in))
	if err != nil || c != (CPUTimes{Task: 155, Idle: 1020, IRQ: 5, Steal: 1}) {
		t.Fatalf("%+v %v", c, err)
	}
	if _, err := ParseCPUTimes([]byte("intr 1\n")); err == nil {
		t.Fatal("no cpu line accepted")
	}
}

func TestParseSchedstat(t *testing.T) {
	if ns, ok := ParseSchedstat([]byte("4852484 61877 2\n")); !ok || ns != 4852484 {
		t.Fatalf("got %d %v", ns, ok)
	}
	if _, ok := ParseSchedstat([]byte("")); ok {
		t.Fatal("empty schedstat parsed")
	}
}

// Take's CPU has sub-tick precision: a few ms of spinning shows up.
func TestTakeCPUPrecision(t *testing.T) {
	a, err := Take(0)
	if err != nil {
		t.Fatal(err)
	}
	// Spin until the kernel has charged 3 ms of CPU to the process (wall
	// time says nothing on a loaded machine: the spinner may not run).
	start := processCPU(t)
	for processCPU(t)-start < 3*time.Millisecond {
	}
	b, _ := Take(0)
	if d := b.CPU - a.CPU; d < 0.002 || d > 0.5 {
		t.Fatalf("3 ms of spinning measured as %.4f s", d)
	}
}

func TestRSS(t *testing.T) {
	if RSS(0) != 0 {
		t.Fatal("RSS(0) must be 0 (no pid given)")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc")
	}
	if r := RSS(os.Getpid()); r <= 0 {
		t.Fatalf("RSS of this process %d", r)
	}
}

func TestThreadClass(t *testing.T) {
	for in, want := range map[string]string{"worker-0\n": "worker", "worker-12": "worker", "ZMQbg/IO/0": "ZMQbg/IO",
		"zhttpsocket": "zhttpsocket", "condure": "condure", "nginx": "nginx", "7": "7"} {
		if got := ThreadClass(in); got != want {
			t.Errorf("ThreadClass(%q) = %q, want %q", in, got, want)
		}
	}
}

func processCPU(t *testing.T) time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ts.Nano())
}
