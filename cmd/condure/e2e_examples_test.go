package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The bundled Python handlers, run with Debian's /usr/bin/python3 and
// python3-zmq, against the real binary.

const python = "/usr/bin/python3"

func examplesDir(t *testing.T) string {
	dir, err := filepath.Abs("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// startPython runs an example handler; its stderr (the examples' log) is
// returned.
func startPython(t *testing.T, script string, args ...string) *syncBuffer {
	t.Helper()
	cmd := exec.Command(python, append([]string{filepath.Join(examplesDir(t), script)}, args...)...)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s stderr:\n%s", script, stderr.String())
		}
	})
	return stderr
}

// waitOutput waits until a handler process's output contains sub.
func waitOutput(t *testing.T, out *syncBuffer, sub string) {
	t.Helper()
	if !eventually(t, 10*time.Second, func() bool { return strings.Contains(out.String(), sub) }) {
		t.Fatalf("the handler did not say %q: %q", sub, out.String())
	}
}

func TestPythonBasicHandler(t *testing.T) {
	s := startServer(t)
	// The handler says it is connected once the server's subscription has
	// reached its PUB: from then on its responses reach the server.
	waitOutput(t, startPython(t, "basichandler.py", "--spec", s.base), "stream mode: connected")

	c := s.dial()
	br := bufio.NewReader(c)
	// GET, then a 100 kB POST and another GET on the same connection.
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
	resp, body := readResponse(t, br, "GET")
	if resp.StatusCode != 200 || body != "hello world\n" {
		t.Fatalf("GET: %d %q", resp.StatusCode, body)
	}
	data := make([]byte, 100000)
	rand.Read(data)
	fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n", len(data))
	c.Write(data)
	resp, body = readResponse(t, br, "POST")
	if resp.StatusCode != 200 || body != "hello world\n" || resp.Close {
		t.Fatalf("POST: %d %q close=%v", resp.StatusCode, body, resp.Close)
	}
	fmt.Fprintf(c, "GET /again HTTP/1.1\r\nHost: localhost\r\n\r\n")
	if _, body = readResponse(t, br, "GET"); body != "hello world\n" {
		t.Fatalf("keep-alive GET: %q", body)
	}
}

func TestPythonPrintreqSendresp(t *testing.T) {
	s := startServer(t)
	dir := examplesDir(t)
	// The pipeline from condure's README: printreq prints request ids,
	// xargs runs sendresp for each.
	sh := fmt.Sprintf("%s %s/printreq.py --spec %s | xargs -n 1 %s %s/sendresp.py --spec %s",
		python, dir, s.base, python, dir, s.base)
	cmd := exec.Command("sh", "-c", "exec "+sh)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exec.Command("pkill", "-f", "printreq.py --spec "+s.base).Run()
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("printreq.py and sendresp.py stderr:\n%s", stderr.String())
		}
	})
	// No wait for printreq.py: the server holds each request until a
	// handler's PULL connects, and sendresp.py publishes once the server's
	// subscription has reached it (a fixed 0.5 s pause there lost the
	// response now and then on a loaded machine: the client timed out).
	for i := 0; i < 2; i++ {
		c := s.dial()
		fmt.Fprintf(c, "GET /%d HTTP/1.1\r\nHost: localhost\r\n\r\n", i)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !bytes.Equal(b, []byte("hello world\n")) {
			t.Fatalf("got %d %q", resp.StatusCode, b)
		}
	}
}
