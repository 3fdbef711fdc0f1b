package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Pushpin integration: the real Pushpin 1.36 runner (Debian packages
// "pushpin" and "zurl"; "condure" comes in as a dependency) starts the
// binary under test as its front end through condure_bin=, exactly as in
// production. The runner passes (observed with ps, Pushpin 1.36.0):
//
//	condure --log-level=2 --listen=127.0.0.1:PORT,stream
//	        --zclient-stream=ipc://RUNDIR/pushpin-condure
//	        --buffer-size=8192 --stream-maxconn=50000
//
// With https_ports it adds "--listen=ADDR:PORT,stream,tls,default-cert=default_PORT"
// and "--tls-identities-dir=<confdir>/runner/certs", with local_ports
// "--listen=PATH,local,stream"; the config written here sets neither.
//
// Environment:
//
//	CONDURE_BIN_UNDER_TEST=/usr/bin/condure  run against another binary
//	                                         (default: the one TestMain built)
//	CONDURE_LONG_TESTS=1                     also run the 70 s idle-hold test
//	CONDURE_PUSHPIN_VERBOSE=1                log_level=3 for every service, and
//	                                         log Pushpin's output even on success
//	CONDURE_KEEP_PUSHPIN_DIR=1               keep the config/run dir of a failed test

const pushpinBin = "/usr/bin/pushpin"

func pushpinBinUnderTest() string {
	if b := os.Getenv("CONDURE_BIN_UNDER_TEST"); b != "" {
		return b
	}
	return binPath
}

type pushpinInstance struct {
	t          *testing.T
	bin        string // condure_bin
	dir        string // config dir
	rundir     string
	httpAddr   string // 127.0.0.1:port (condure's listener)
	publishURL string
	cmd        *exec.Cmd
	out        *syncBuffer
	exited     chan struct{}
	stopped    bool
}

// origin is the backend Pushpin proxies to.
type origin struct {
	addr string
}

func startOrigin(t *testing.T) *origin {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	// /echo describes the request it got.
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		sum := sha256.Sum256(body)
		res := map[string]any{
			"method": r.Method,
			"uri":    r.RequestURI,
			"len":    len(body),
			"sha256": hex.EncodeToString(sum[:]),
			"x-req":  r.Header.Get("X-Req-Test"),
			"ctype":  r.Header.Get("Content-Type"),
		}
		b, _ := json.Marshal(res)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Origin-Test", "abc 123")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		if r.Method == "POST" {
			w.WriteHeader(201)
		}
		w.Write(b)
	})
	// /big?n=N returns N bytes of a fixed pattern.
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(n))
		w.Write(pattern(n))
	})
	// /stream?ch=C holds the client on channel C.
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Grip-Hold", "stream")
		w.Header().Set("Grip-Channel", r.URL.Query().Get("ch"))
		io.WriteString(w, "initial\n")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return &origin{addr: l.Addr().String()}
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + (i*7+i/251)%26)
	}
	return b
}

// pushpinConfig rewrites Pushpin's shipped config: every key in over
// replaces the line for that key in its section (or is appended to the
// section); keys mapped to "" are dropped.
func pushpinConfig(t *testing.T, over map[string]map[string]string) string {
	t.Helper()
	var src []byte
	var err error
	for _, p := range []string{"/etc/pushpin/pushpin.conf", "/usr/share/pushpin/pushpin.conf.condure"} {
		if src, err = os.ReadFile(p); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("no pushpin.conf to copy: %v", err)
	}
	var out strings.Builder
	section := ""
	done := map[string]bool{}
	flush := func() {
		var keys []string
		for k := range over[section] {
			if !done[section+"."+k] {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			if v := over[section][k]; v != "" {
				fmt.Fprintf(&out, "%s=%s\n", k, v)
			}
			done[section+"."+k] = true
		}
	}
	for _, line := range strings.Split(string(src), "\n") {
		trim := strings.TrimSpace(line)
		if strings.HasPrefix(trim, "[") && strings.HasSuffix(trim, "]") {
			flush()
			section = trim[1 : len(trim)-1]
			out.WriteString("\n" + line + "\n")
			continue
		}
		key := strings.TrimSpace(strings.TrimLeft(trim, "#"))
		if i := strings.IndexByte(key, '='); i > 0 {
			key = strings.TrimSpace(key[:i])
			if v, ok := over[section][key]; ok {
				if !done[section+"."+key] && v != "" {
					fmt.Fprintf(&out, "%s=%s\n", key, v)
				}
				done[section+"."+key] = true
				continue
			}
		}
		out.WriteString(line + "\n")
	}
	flush()
	for sec, kv := range over {
		for k, v := range kv {
			if !done[sec+"."+k] && v != "" {
				fmt.Fprintf(&out, "\n[%s]\n%s=%s\n", sec, k, v)
			}
		}
	}
	return out.String()
}

func startPushpin(t *testing.T, org *origin) *pushpinInstance {
	t.Helper()
	if _, err := os.Stat(pushpinBin); err != nil {
		t.Skipf("%s not installed (apt-get install pushpin zurl)", pushpinBin)
	}
	zurl, err := exec.LookPath("zurl")
	if err != nil {
		// the pushpin package depends on zurl: a missing zurl is a broken install
		t.Fatalf("pushpin is installed but zurl is not (apt-get install zurl): %v", err)
	}
	bin := pushpinBinUnderTest()
	// A short path of our own: ipc socket paths are limited to ~107 bytes.
	dir, err := os.MkdirTemp("", "condure-pp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() || os.Getenv("CONDURE_KEEP_PUSHPIN_DIR") == "" {
			os.RemoveAll(dir)
		} else {
			t.Logf("kept %s", dir)
		}
	})
	p := &pushpinInstance{t: t, bin: bin, dir: dir, rundir: filepath.Join(dir, "run"),
		out: &syncBuffer{}, exited: make(chan struct{})}
	for _, d := range []string{p.rundir, filepath.Join(dir, "log")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	httpPort := freePort(t)
	pubPort := freePort(t)
	for pubPort == httpPort {
		pubPort = freePort(t)
	}
	p.httpAddr = fmt.Sprintf("127.0.0.1:%d", httpPort)
	p.publishURL = fmt.Sprintf("http://127.0.0.1:%d/publish/", pubPort)
	logLevel := "2"
	if os.Getenv("CONDURE_PUSHPIN_VERBOSE") != "" {
		logLevel = "3"
	}
	ipc := "ipc://{rundir}/{ipc_prefix}"
	conf := pushpinConfig(t, map[string]map[string]string{
		"global": {
			"include":     "{libdir}/internal.conf",
			"rundir":      p.rundir,
			"ipc_prefix":  "pushpin-",
			"port_offset": "0",
		},
		"runner": {
			"services":    "condure,zurl,pushpin-proxy,pushpin-handler",
			"http_port":   p.httpAddr,
			"https_ports": "",
			"local_ports": "",
			"logdir":      filepath.Join(dir, "log"),
			"log_level":   logLevel,
			"condure_bin": bin,
			"zurl_bin":    zurl,
		},
		"proxy": {
			"routesfile": "routes",
			"debug":      "true",
			// Debian's internal.conf points these at a system zurl in
			// /var/run/zurl; use the one the runner starts.
			"zurl_out_specs":        ipc + "zurl-in",
			"zurl_out_stream_specs": ipc + "zurl-in-stream",
			"zurl_in_specs":         ipc + "zurl-out",
			"updates_check":         "off",
		},
		"handler": {
			"push_in_spec":      ipc + "push-in",
			"push_in_sub_specs": ipc + "push-in-sub",
			"push_in_http_addr": "127.0.0.1",
			"push_in_http_port": strconv.Itoa(pubPort),
			"command_spec":      ipc + "handler-command",
			"stats_spec":        ipc + "stats",
		},
	})
	confFile := filepath.Join(dir, "pushpin.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "routes"), []byte("* "+org.addr+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	p.cmd = exec.Command(pushpinBin, "--config", confFile, "--merge-output")
	p.cmd.Dir = dir
	p.cmd.Stdout = p.out
	p.cmd.Stderr = p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := p.cmd.Process.Pid
	go func() { p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		if !p.stopped {
			p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.exited:
			case <-time.After(10 * time.Second):
			}
		}
		// Whatever is left of the group (children included).
		syscall.Kill(-pgid, syscall.SIGKILL)
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
		}
		if t.Failed() {
			t.Logf("pushpin config:\n%s", conf)
		}
		if t.Failed() || os.Getenv("CONDURE_PUSHPIN_VERBOSE") != "" {
			t.Logf("pushpin output (%s):\n%s", bin, p.out.String())
		}
	})

	// Ready when a request makes the whole round trip to the origin, and a
	// GRIP hold is accepted: pushpin-proxy reaches pushpin-handler's accept
	// service a moment after both say "started" ("Accept service
	// unavailable" before that).
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var lastErr error
	if !eventually(t, 20*time.Second, func() bool {
		select {
		case <-p.exited:
			t.Fatalf("pushpin exited during startup: %v", p.cmd.ProcessState)
		default:
		}
		resp, err := client.Get("http://" + p.httpAddr + "/echo?ready")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			err = fmt.Errorf("echo status %d", resp.StatusCode)
			if resp.StatusCode == 200 && resp.Header.Get("X-Origin-Test") != "" {
				resp, err = client.Get("http://" + p.httpAddr + "/stream?ch=ready-probe")
			}
		}
		if err == nil {
			resp.Body.Close() // a held stream: the headers are enough
			if resp.StatusCode == 200 {
				return true
			}
			err = fmt.Errorf("hold status %d", resp.StatusCode)
		}
		lastErr = err
		return false
	}) {
		t.Fatalf("pushpin not ready after 20 s: %v", lastErr)
	}
	return p
}

// condurePids lists live processes running our condure_bin for this
// instance (matched on argv[0] and the instance's run dir in the args).
func (p *pushpinInstance) condurePids() []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cl, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || len(cl) == 0 {
			continue
		}
		args := strings.Split(strings.TrimRight(string(cl), "\x00"), "\x00")
		if args[0] != p.bin || !strings.Contains(string(cl), p.rundir) {
			continue
		}
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			// state follows the ")" closing the command name; skip zombies
			if i := bytes.LastIndexByte(st, ')'); i > 0 && i+2 < len(st) && st[i+2] == 'Z' {
				continue
			}
		}
		pids = append(pids, pid)
	}
	return pids
}

// condureArgs returns the command line Pushpin gave our binary.
func (p *pushpinInstance) condureArgs() string {
	for _, pid := range p.condurePids() {
		cl, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		return strings.ReplaceAll(strings.TrimRight(string(cl), "\x00"), "\x00", " ")
	}
	return ""
}

// stop sends SIGTERM to pushpin and checks that it and its condure exit.
func (p *pushpinInstance) stop() {
	t := p.t
	t.Helper()
	before := p.condurePids()
	if len(before) == 0 {
		t.Errorf("no condure process (%s) found under pushpin before stop", p.bin)
	}
	p.stopped = true
	start := time.Now()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		t.Logf("pushpin stopped in %v (%v)", time.Since(start).Round(time.Millisecond), p.cmd.ProcessState)
		if !p.cmd.ProcessState.Success() {
			t.Errorf("pushpin exit status: %v", p.cmd.ProcessState)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("pushpin did not exit within 10 s of SIGTERM")
	}
	if left := p.condurePids(); len(left) > 0 {
		t.Errorf("condure still running after pushpin exit: pids %v (was %v)", left, before)
	}
	if !strings.Contains(p.out.String(), "[condure] stopped") {
		t.Errorf("condure did not log \"stopped\"")
	}
}

func (p *pushpinInstance) publish(t *testing.T, channel, content string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"items": []any{map[string]any{
		"channel": channel,
		"formats": map[string]any{"http-stream": map[string]any{"content": content}},
	}}})
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Post(p.publishURL, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("publish: %d %q", resp.StatusCode, b)
	}
}

// rawRecorder keeps every byte read from a connection, for failure reports.
type rawRecorder struct {
	c   net.Conn
	mu  sync.Mutex
	buf bytes.Buffer
}

func (r *rawRecorder) Read(b []byte) (int, error) {
	n, err := r.c.Read(b)
	r.mu.Lock()
	r.buf.Write(b[:n])
	r.mu.Unlock()
	return n, err
}

func (r *rawRecorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprintf("%q", r.buf.String())
}

// streamClient is a held GRIP stream read over a raw connection.
type streamClient struct {
	t    *testing.T
	raw  *rawRecorder
	resp *http.Response
	mu   sync.Mutex
	got  strings.Builder
	err  error
	done chan struct{}
}

func openStream(t *testing.T, p *pushpinInstance, channel string) *streamClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.httpAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s := &streamClient{t: t, raw: &rawRecorder{c: c}, done: make(chan struct{})}
	fmt.Fprintf(c, "GET /stream?ch=%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: condure-e2e\r\n\r\n", channel, p.httpAddr)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	s.resp, err = http.ReadResponse(bufio.NewReader(s.raw), &http.Request{Method: "GET"})
	if err != nil {
		t.Fatalf("stream response: %v; raw %s", err, s.raw)
	}
	c.SetReadDeadline(time.Time{})
	if s.resp.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(s.resp.Body, 4096))
		t.Fatalf("stream status %d body %q", s.resp.StatusCode, b)
	}
	if ct := s.resp.Header.Get("Content-Type"); ct != "text/plain" {
		t.Errorf("stream Content-Type %q", ct)
	}
	for _, h := range []string{"Grip-Hold", "Grip-Channel"} {
		if v := s.resp.Header.Get(h); v != "" {
			t.Errorf("GRIP header leaked to client: %s: %s", h, v)
		}
	}
	go func() {
		defer close(s.done)
		b := make([]byte, 4096)
		for {
			n, err := s.resp.Body.Read(b)
			s.mu.Lock()
			s.got.Write(b[:n])
			if err != nil {
				s.err = err
			}
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return s
}

// waitFor waits until the stream body received so far equals want.
func (s *streamClient) waitFor(want string, d time.Duration) bool {
	var got string
	var err error
	eventually(s.t, d, func() bool {
		s.mu.Lock()
		got, err = s.got.String(), s.err
		s.mu.Unlock()
		// Settled: the body only grows, so one that strayed from want
		// never comes back to it.
		return got == want || err != nil || !strings.HasPrefix(want, got)
	})
	if got == want {
		return true
	}
	s.t.Errorf("stream body %q (error %v), want %q; raw bytes %s", got, err, want, s.raw)
	return false
}

// publishAndExpect publishes content on channel and waits for it on s
// (the handler subscribes before it lets the initial body out, so there is
// no race with the subscription).
func publishAndExpect(t *testing.T, p *pushpinInstance, s *streamClient, channel, prefix, content string) {
	t.Helper()
	p.publish(t, channel, content)
	s.waitFor(prefix+content, 5*time.Second)
}

func TestPushpin(t *testing.T) {
	org := startOrigin(t)
	p := startPushpin(t, org)
	t.Logf("pushpin runs: %s", p.condureArgs())
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	base := "http://" + p.httpAddr

	check := func(t *testing.T, resp *http.Response, code int, method, uri string, body []byte, ctype string) {
		t.Helper()
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("read body: %v", err)
		}
		if resp.StatusCode != code {
			t.Fatalf("status %d, want %d; body %q", resp.StatusCode, code, b)
		}
		if v := resp.Header.Get("X-Origin-Test"); v != "abc 123" {
			t.Errorf("X-Origin-Test %q", v)
		}
		if v := resp.Header.Get("Content-Type"); v != "application/json" {
			t.Errorf("Content-Type %q", v)
		}
		var got map[string]any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("origin body %q: %v", b, err)
		}
		sum := sha256.Sum256(body)
		want := map[string]any{"method": method, "uri": uri, "len": float64(len(body)),
			"sha256": hex.EncodeToString(sum[:]), "x-req": "hello there", "ctype": ctype}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("origin saw %s=%v, want %v", k, got[k], v)
			}
		}
		if resp.ContentLength != int64(len(b)) {
			t.Errorf("Content-Length %d, body %d bytes", resp.ContentLength, len(b))
		}
	}

	t.Run("get", func(t *testing.T) {
		req, _ := http.NewRequest("GET", base+"/echo?a=1&b=%20x", nil)
		req.Header.Set("X-Req-Test", "hello there")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		check(t, resp, 200, "GET", "/echo?a=1&b=%20x", nil, "")
	})

	for _, n := range []int{11, 200_000} {
		t.Run(fmt.Sprintf("post-%d", n), func(t *testing.T) {
			body := pattern(n)
			req, _ := http.NewRequest("POST", base+"/echo", bytes.NewReader(body))
			req.Header.Set("X-Req-Test", "hello there")
			req.Header.Set("Content-Type", "application/x-test")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			check(t, resp, 201, "POST", "/echo", body, "application/x-test")
		})
	}

	t.Run("post-chunked", func(t *testing.T) {
		body := pattern(100_000)
		req, _ := http.NewRequest("POST", base+"/echo", io.MultiReader(bytes.NewReader(body))) // unknown length: chunked
		req.Header.Set("X-Req-Test", "hello there")
		req.Header.Set("Content-Type", "application/x-test")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		check(t, resp, 201, "POST", "/echo", body, "application/x-test")
	})

	t.Run("big-response", func(t *testing.T) {
		const n = 1_000_000
		resp, err := client.Get(base + "/big?n=" + strconv.Itoa(n))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || !bytes.Equal(b, pattern(n)) {
			t.Fatalf("status %d, %d bytes (want %d, equal=%v)", resp.StatusCode, len(b), n, bytes.Equal(b, pattern(n)))
		}
	})

	t.Run("grip-stream", func(t *testing.T) {
		ch := fmt.Sprintf("test-%d", time.Now().UnixNano())
		s := openStream(t, p, ch)
		if !s.waitFor("initial\n", 5*time.Second) {
			return
		}
		publishAndExpect(t, p, s, ch, "initial\n", "hello\n")
		publishAndExpect(t, p, s, ch, "initial\nhello\n", "second\n")
	})

	t.Run("grip-stream-many", func(t *testing.T) {
		// several held clients on one channel, one publish reaches all
		ch := fmt.Sprintf("many-%d", time.Now().UnixNano())
		var ss []*streamClient
		for range 5 {
			s := openStream(t, p, ch)
			if !s.waitFor("initial\n", 5*time.Second) {
				return
			}
			ss = append(ss, s)
		}
		p.publish(t, ch, "hello\n")
		for _, s := range ss {
			s.waitFor("initial\nhello\n", 5*time.Second)
		}
	})

	// the plain proxy path still works after streams
	t.Run("get-after", func(t *testing.T) {
		req, _ := http.NewRequest("GET", base+"/echo", nil)
		req.Header.Set("X-Req-Test", "hello there")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		check(t, resp, 200, "GET", "/echo", nil, "")
	})

	client.CloseIdleConnections()
	p.stop()
}

// TestPushpinLongHold keeps a stream idle past the 60 s session expiry, so
// it survives only if keep-alives flow both ways between condure and
// pushpin-handler.
func TestPushpinLongHold(t *testing.T) {
	if os.Getenv("CONDURE_LONG_TESTS") == "" {
		t.Skip("set CONDURE_LONG_TESTS=1 (takes about 75 s)")
	}
	org := startOrigin(t)
	p := startPushpin(t, org)
	t.Logf("pushpin runs: %s", p.condureArgs())
	ch := fmt.Sprintf("long-%d", time.Now().UnixNano())
	s := openStream(t, p, ch)
	if !s.waitFor("initial\n", 5*time.Second) {
		p.stop()
		return
	}
	t.Logf("holding the stream idle for 70 s")
	select {
	case <-s.done:
		s.mu.Lock()
		t.Errorf("stream ended while idle: %v (body %q, raw %s)", s.err, s.got.String(), s.raw)
		s.mu.Unlock()
	case <-time.After(70 * time.Second):
		publishAndExpect(t, p, s, ch, "initial\n", "hello\n")
	}
	p.stop()
}
