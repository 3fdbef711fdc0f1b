// Command wsdeflate checks the websocket package's permessage-deflate pieces
// against headless Chromium, before they are wired into the server: a
// net/http server negotiates with NegotiateDeflate, reads frames with a
// Reader (4 KiB reads, so big messages span many), inflates through an
// InflaterPool into a 1000-byte buffer, and echoes each message back whole
// (AppendMessage) or in 4 frames, the last one empty (AppendFragment). The
// page sends a short text, a 117 KB JSON text, 70000 binary bytes, a
// fragmented echo and an empty message, and reports what came back.
//
//	go run ./bench/wsdeflate          # as negotiated
//	WB=1 go run ./bench/wsdeflate     # also answer server_max_window_bits=9
//
// It prints "RESULT ..." with ext=<the extension Chromium saw> and
// name=ok or name=BAD for each message.
package main

import (
	"bytes"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"time"

	"github.com/condure-go/condure/http1"
	"github.com/condure-go/condure/websocket"
)

const page = `<!doctype html><script>
const big = JSON.stringify(Array.from({length: 3000}, (_, i) => ({id: i, name: "user" + i, ok: true})));
const tests = [["small", "hello"], ["text_big", big], ["bin", new Uint8Array(70000).map((_, i) => i % 251)], ["frag", "FRAG:" + big], ["empty", ""]];
const ws = new WebSocket("ws://" + location.host + "/ws");
ws.binaryType = "arraybuffer";
let i = 0, results = [];
ws.onopen = () => { results.push("ext=" + ws.extensions); ws.send(tests[0][1]); };
ws.onmessage = (e) => {
  const [name, sent] = tests[i];
  let same;
  if (sent instanceof Uint8Array) { const got = new Uint8Array(e.data); same = got.length == sent.length && got.every((v, k) => v == sent[k]); }
  else same = e.data === sent;
  results.push(name + "=" + (same ? "ok" : "BAD(" + (e.data.length || e.data.byteLength) + ")"));
  i++;
  if (i < tests.length) ws.send(tests[i][1]); else { ws.close(1000); fetch("/result?" + encodeURIComponent(results.join(" "))); }
};
ws.onerror = () => fetch("/result?" + encodeURIComponent("error " + results.join(" ")));
ws.onclose = (e) => { if (i < tests.length) fetch("/result?" + encodeURIComponent("closed " + e.code + " " + results.join(" "))); };
</script>`

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan string, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(page)) })
	mux.HandleFunc("/result", func(w http.ResponseWriter, r *http.Request) { done <- r.URL.RawQuery })
	mux.HandleFunc("/ws", serveWS)
	go http.Serve(ln, mux)
	profile, err := os.MkdirTemp("", "wsdeflate")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(profile)
	cmd := exec.Command("chromium", "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir="+profile, "http://"+ln.Addr().String()+"/")
	cmd.Start()
	defer cmd.Process.Kill()
	select {
	case res := <-done:
		fmt.Println("RESULT", res)
	case <-time.After(60 * time.Second):
		fmt.Println("TIMEOUT")
		os.Exit(1)
	}
}

func serveWS(w http.ResponseWriter, r *http.Request) {
	var hs []http1.Header
	for k, vs := range r.Header {
		for _, v := range vs {
			hs = append(hs, http1.Header{Name: []byte(k), Value: []byte(v)})
		}
	}
	log.Printf("offer: %q", r.Header.Values("Sec-WebSocket-Extensions"))
	p, ok := websocket.NegotiateDeflate(hs)
	if os.Getenv("WB") != "" {
		p.ServerMaxWindowBits = 9
	}
	if !ok {
		log.Fatal("no offer accepted")
	}
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	accept := websocket.AppendAccept(nil, []byte(r.Header.Get("Sec-WebSocket-Key")))
	ext := websocket.AppendDeflateResponse(nil, p)
	log.Printf("answer: %s", ext)
	conn.Write(websocket.AppendHandshakeResponseExt(nil, nil, nil, accept, ext))

	var rd websocket.Reader
	rd.Deflate = true
	pool := websocket.NewInflaterPool(1)
	d := websocket.NewDeflater()
	var id websocket.InflaterID
	var msg []byte
	var op websocket.Opcode
	buf := make([]byte, 0, 4096) // small: big messages span many reads
	body := make([]byte, 1000)   // small: output resumes
	for {
		n, err := conn.Read(buf[len(buf):cap(buf)])
		if err != nil {
			log.Printf("read: %v", err)
			return
		}
		buf = buf[:len(buf)+n]
		for {
			ev, n, err := rd.Next(buf, 1<<30)
			if err != nil {
				log.Fatalf("reader: %v", err)
			}
			if n == 0 {
				break
			}
			switch ev.Kind {
			case websocket.EvClose:
				conn.Write(websocket.AppendCloseFrame(nil, 1000, nil))
				return
			case websocket.EvData:
				if !ev.Compressed {
					log.Fatalf("uncompressed message from the client")
				}
				if id == 0 {
					id = pool.Get(1<<24, ev.Opcode == websocket.OpText)
					msg, op = msg[:0], ev.Opcode
				}
				f := pool.At(id)
				src := ev.Payload
				for {
					o, in, done, err := f.Inflate(body, src, ev.Fin)
					if err != nil {
						log.Fatalf("inflate: %v", err)
					}
					msg = append(msg, body[:o]...)
					src = src[in:]
					if done {
						pool.Put(id)
						id = 0
						echo(conn, d, op, msg, p.ServerMaxWindowBits)
						break
					}
					if len(src) == 0 && o < len(body) {
						break
					}
				}
			}
			buf = append(buf[:0], buf[n:]...)
		}
	}
}

// echo sends msg back: whole with AppendMessage, or in 3 frames with
// AppendFragment when it starts with FRAG:.
func echo(conn net.Conn, d *websocket.Deflater, op websocket.Opcode, msg []byte, wb uint8) {
	var out []byte
	if !bytes.HasPrefix(msg, []byte("FRAG:")) {
		payload, compressed := d.AppendMessage(nil, msg, wb)
		if compressed {
			out = websocket.AppendCompressedFrameHeader(out, true, op, len(payload))
		} else {
			out = websocket.AppendFrameHeader(out, true, op, len(payload))
		}
		conn.Write(append(out, payload...))
		log.Printf("echo %d bytes as %d (compressed %v)", len(msg), len(payload), compressed)
		return
	}
	parts := [][]byte{msg[:len(msg)/3], msg[len(msg)/3 : 2*len(msg)/3], msg[2*len(msg)/3:], nil}
	for i, part := range parts {
		payload := d.AppendFragment(nil, part, i == 0, wb)
		fin := i == len(parts)-1
		if i == 0 {
			out = websocket.AppendCompressedFrameHeader(out[:0], fin, op, len(payload))
		} else {
			out = websocket.AppendFrameHeader(out[:0], fin, websocket.OpContinuation, len(payload))
		}
		conn.Write(append(out, payload...))
	}
	log.Printf("echo %d bytes in %d frames, the last empty", len(msg), len(parts))
}
