package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/condure-go/condure/zhttp/zhttptest"
)

// Bind mode with one worker has no hub: the worker binds the handler
// endpoints itself (docs/design.md "ZeroMQ in epoll"). These tests check it
// keeps bind mode's behaviour; the whole suite also runs that way with
// CONDURE_TEST_WORKERS=1.

// TestHublessStalledHandler is TestBackpressureStalledHandler's bind-mode
// case with one worker: a handler that stops reading holds back only its
// own sessions (the worker's ROUTER refuses it alone), the other one's
// POSTs and echoes go on, and the stalled one killed and restarted (same
// identity, then a new one) serves again.
func TestHublessStalledHandler(t *testing.T) {
	stalledHandler(t, false, "--workers", "1")
}

// TestHublessBindSemantics: with one worker and with two (the hub), the
// bound ipc files get --ipc-file-mode, a handler message for another
// --id is dropped by the SUB subscription while one for ours is delivered,
// and only the two-worker server runs the hub's thread.
func TestHublessBindSemantics(t *testing.T) {
	for _, workers := range []string{"1", "2"} {
		t.Run("workers="+workers, func(t *testing.T) {
			dir := t.TempDir()
			base := "ipc://" + dir + "/s"
			s := startServerWith(t, base, "--workers", workers, "--id", "myid", "--ipc-file-mode", "640")
			for _, suffix := range []string{"-out", "-out-stream", "-in"} {
				fi, err := os.Stat(dir + "/s" + suffix)
				if err != nil {
					t.Fatal(err)
				}
				if m := fi.Mode().Perm(); m != 0o640 {
					t.Errorf("%s: mode %o, want 640", suffix, m)
				}
			}
			hub := hasThread(t, s.cmd.Process.Pid, "zhttpsocket")
			if hub != (workers != "1") {
				t.Errorf("%s workers: hub thread running = %v", workers, hub)
			}

			h, err := zhttptest.DialHandler(base, "h1", "myid")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(h.Close)
			c := s.dial()
			fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
			req := recv(t, h, "")
			if got := str(req, "from"); got != "myid" {
				t.Errorf("request from %q, want myid", got)
			}
			ses := newSession(t, h, req)
			// "myid2 ..." does not match the subscription "myid ".
			h.Instance = "myid2"
			ses.respond(200, "OK", "wrong\n", false)
			ses.seq = 0
			h.Instance = "myid"
			ses.respond(200, "OK", "right\n", false)
			resp, body := readResponse(t, bufio.NewReader(c), "GET")
			if resp.StatusCode != 200 || body != "right\n" {
				t.Fatalf("response %d %q, want 200 \"right\\n\"", resp.StatusCode, body)
			}
		})
	}
}

// TestHublessBindError: an endpoint the one worker cannot bind stops the
// server with the hub's message.
func TestHublessBindError(t *testing.T) {
	base := "ipc://" + filepath.Join(t.TempDir(), "missing", "s")
	cmd := exec.Command(binPath, "--listen", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--zclient-stream", base, "--workers", "1")
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("server did not exit")
	}
	if err == nil || !strings.Contains(string(out), "failed to set zhttp client specs: bind "+base) {
		t.Fatalf("exit %v, output %q", err, out)
	}
}

// hasThread reports whether process pid has a thread named name.
func hasThread(t *testing.T, pid int, name string) bool {
	t.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/comm", pid))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("threads of %d: %v", pid, err)
	}
	for _, f := range tasks {
		if b, err := os.ReadFile(f); err == nil && strings.TrimSpace(string(b)) == name {
			return true
		}
	}
	return false
}
