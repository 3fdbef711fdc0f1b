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

func startPython(t *testing.T, script string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(python, append([]string{filepath.Join(examplesDir(t), script)}, args...)...)
	cmd.Stderr = &syncBuffer{}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func TestPythonBasicHandler(t *testing.T) {
	s := startServer(t)
	startPython(t, "basichandler.py", "--spec", s.base)
	time.Sleep(time.Second) // the handler's slow-joiner pause

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
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exec.Command("pkill", "-f", "printreq.py --spec "+s.base).Run()
		cmd.Process.Kill()
		cmd.Wait()
	})
	time.Sleep(time.Second)
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
