// Command bigmsg is the failure scenario of a handler publishing one huge
// message (issue #12, scenario 5) against a server binary: it starts the
// server, opens a streamed response served by a good handler, has a second
// handler (a bare XPUB on B-in) publish a message of -size bytes for an id
// no session has, and reports the server's resident memory before, at its
// peak and after, whether the good handler's session and a new request
// still work, and whether the second handler's connection was cut and
// made again. Run it against our binary and /usr/bin/condure with the same
// flags (scripts/failure-bigmsg.sh).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	zmq "github.com/pebbe/zmq4"

	"github.com/condure-go/condure/bench/internal/proc"
	"github.com/condure-go/condure/config"
	"github.com/condure-go/condure/zhttp/zhttptest"
)

func main() {
	bin := flag.String("bin", "bin/condure", "server binary")
	size := flag.Int("size", 64<<20, "bytes of the huge message's body")
	workers := flag.Int("workers", 2, "--workers")
	settle := flag.Duration("settle", 5*time.Second, "time after sending before 'after' is read")
	flag.Parse()
	if err := run(*bin, *size, *workers, *settle); err != nil {
		log.Fatal(err)
	}
}

func run(bin string, size, workers int, settle time.Duration) error {
	dir, err := os.MkdirTemp("", "bigmsg")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := l.Addr().String()
	l.Close()
	base := "ipc://" + filepath.Join(dir, "c")
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, "--listen", addr, "--zclient-stream", base, "--workers", fmt.Sprint(workers), "--log-level", "2")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if i > 250 {
			return fmt.Errorf("server did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}

	good, err := zhttptest.DialHandler(base, "good", "condure")
	if err != nil {
		return err
	}
	defer good.Close()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	fmt.Fprintf(c, "GET /long HTTP/1.1\r\nHost: x\r\n\r\n")
	req, err := good.Recv(10 * time.Second)
	if err != nil {
		return fmt.Errorf("request: %w", err)
	}
	id := req["id"].(string)
	// An id of the same worker as the session, for a slot no session has:
	// routed to that worker, then dropped as unknown.
	stray := strings.SplitN(id, "-", 2)[0] + "-99999-0"
	good.Send(map[string]any{"id": id, "seq": int64(0), "code": 200, "reason": "OK", "body": "first\n", "more": true})
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: "GET"})
	if err != nil {
		return fmt.Errorf("response: %w", err)
	}

	ctx, _ := zmq.NewContext()
	defer ctx.Term()
	rogue, _ := ctx.NewSocket(zmq.XPUB)
	defer rogue.Close()
	rogue.SetLinger(0)
	rogue.SetXpubVerbose(1) // report the subscription again after a reconnect
	_, _, in, _ := config.StreamSpecs(base)
	rogue.Connect(in)
	subscribed := func(wait time.Duration) bool {
		rogue.SetRcvtimeo(wait)
		for {
			s, err := rogue.RecvBytes(0)
			if err != nil {
				return false
			}
			if len(s) > 0 && s[0] == 1 {
				return true
			}
		}
	}
	if !subscribed(5 * time.Second) {
		return fmt.Errorf("no subscription from the server")
	}
	time.Sleep(time.Second)
	before, err := proc.Take(cmd.Process.Pid)
	if err != nil {
		return err
	}

	huge := "condure " + string(zhttptest.EncodePacket(map[string]any{"from": "rogue", "id": stray, "seq": int64(0),
		"body": strings.Repeat("H", size)}))
	sent := time.Now()
	if _, err := rogue.Send(huge, 0); err != nil {
		return err
	}
	peak := before.RSS
	reconnected := ""
	for time.Since(sent) < settle {
		if s, err := proc.Take(cmd.Process.Pid); err == nil && s.RSS > peak {
			peak = s.RSS
		}
		if reconnected == "" && subscribed(5*time.Millisecond) {
			reconnected = time.Since(sent).Round(time.Millisecond).String()
		}
	}
	after, err := proc.Take(cmd.Process.Pid)
	if err != nil {
		return err
	}
	if after.HWM > peak {
		peak = after.HWM // the kernel's high-water mark catches what sampling missed
	}

	// The good handler's session, and a new request.
	good.Send(map[string]any{"id": id, "seq": int64(1), "body": "second\n"})
	body, _ := io.ReadAll(resp.Body)
	session := string(body) == "first\nsecond\n"
	fresh := false
	if c2, err := net.Dial("tcp", addr); err == nil {
		c2.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c2, "GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		if r2, err := recvRequest(good); err == nil {
			good.Send(map[string]any{"id": r2["id"], "seq": int64(0), "code": 200, "reason": "OK", "body": "fine"})
			if r, err := http.ReadResponse(bufio.NewReader(c2), &http.Request{Method: "GET"}); err == nil {
				b, _ := io.ReadAll(r.Body)
				fresh = string(b) == "fine"
			}
		}
		c2.Close()
	}
	if reconnected == "" {
		reconnected = "no"
	}
	logb, _ := os.ReadFile(logf.Name())
	fmt.Printf("%s: %d-byte message for id %s: RSS before %d KiB, peak %d KiB (+%d), after %d KiB (+%d) %v later; "+
		"other session ok: %v; new request ok: %v; sender's connection cut and remade: %s; log lines: %d\n",
		bin, len(huge), stray, before.RSS, peak, peak-before.RSS, after.RSS, after.RSS-before.RSS, settle,
		session, fresh, reconnected, strings.Count(string(logb), "\n"))
	for _, line := range strings.Split(strings.TrimSpace(string(logb)), "\n") {
		if !strings.Contains(line, "[INFO]") || strings.Contains(line, "MAXMSGSIZE") {
			fmt.Println("  " + line)
		}
	}
	return nil
}

// recvRequest skips keep-alives and credits until a request arrives.
func recvRequest(h *zhttptest.Handler) (map[string]any, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		p, err := h.Recv(time.Until(deadline))
		if err != nil {
			return nil, err
		}
		if _, ok := p["method"]; ok {
			return p, nil
		}
	}
}
