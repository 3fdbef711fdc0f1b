// Command hellohandler is a fast stream-mode ZHTTP handler for load tests:
// it answers every request with 200 "hello world\n" from one packet, so
// that a benchmark measures the connection manager, not the handler. It
// reads request bodies (granting credits) before answering.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	zmq "github.com/pebbe/zmq4"

	"github.com/condure-go/condure/zhttp"
)

func main() {
	spec := flag.String("spec", "ipc://client", "server --zclient-stream base spec")
	instance := flag.String("instance", "condure", "server --id")
	id := flag.String("id", fmt.Sprintf("hello-%d", os.Getpid()), "handler identity")
	bind := flag.Bool("bind", false, "bind the endpoints (for a server run with --zclient-connect)")
	flag.BoolVar(&streamMode, "stream", false, "start a streamed response (more: true) and never finish it; count keep-alives")
	flag.Parse()
	if err := run(*spec, *instance, *id, *bind); err != nil {
		log.Fatal(err)
	}
}

// streamMode: answer with a response that stays open, to measure idle
// streamed sessions; keep-alive ids received are counted and printed to
// stderr every 10 s as "keepalive-ids N packets M".
var streamMode bool

func run(spec, instance, id string, bind bool) error {
	if !strings.HasPrefix(spec, "ipc://") && !strings.HasPrefix(spec, "tcp://") {
		return fmt.Errorf("spec must be ipc:// or tcp://")
	}
	ctx, err := zmq.NewContext()
	if err != nil {
		return err
	}
	out, outStream, in := spec+"-out", spec+"-out-stream", spec+"-in"
	if strings.HasPrefix(spec, "tcp://") {
		return fmt.Errorf("tcp specs: use the zhttptest.Handler helpers")
	}
	pull, _ := ctx.NewSocket(zmq.PULL)
	router, _ := ctx.NewSocket(zmq.ROUTER)
	pub, _ := ctx.NewSocket(zmq.PUB)
	router.SetIdentity(id)
	for _, c := range []struct {
		s  *zmq.Socket
		ep string
	}{{pull, out}, {router, outStream}, {pub, in}} {
		c.s.SetRcvhwm(100000)
		c.s.SetSndhwm(100000)
		attach := c.s.Connect
		if bind {
			attach = c.s.Bind
		}
		if err := attach(c.ep); err != nil {
			return err
		}
	}
	time.Sleep(200 * time.Millisecond)
	poller := zmq.NewPoller()
	poller.Add(pull, zmq.POLLIN)
	poller.Add(router, zmq.POLLIN)

	var pkt zhttp.Packet
	prefix := []byte(instance + " ")
	buf := make([]byte, 0, 4096)
	body := []byte("hello world\n")
	seqs := map[string]int64{} // sessions reading a body: next seq to send
	send := func(sid []byte, seq int64, respond bool, credits int) {
		b := append(buf[:0], prefix...)
		b = append(b, 'T')
		b, m := zhttp.BeginContainer(b)
		b = zhttp.AppendTnetString(b, []byte("from"))
		b = zhttp.AppendTnetString(b, []byte(id))
		b = zhttp.AppendTnetString(b, []byte("id"))
		b = zhttp.AppendTnetString(b, sid)
		b = zhttp.AppendTnetString(b, []byte("seq"))
		b = zhttp.AppendTnetInt(b, seq)
		if respond {
			b = zhttp.AppendTnetString(b, []byte("code"))
			b = zhttp.AppendTnetInt(b, 200)
			b = zhttp.AppendTnetString(b, []byte("reason"))
			b = zhttp.AppendTnetString(b, []byte("OK"))
			b = zhttp.AppendTnetString(b, []byte("headers"))
			var h, p int
			b, h = zhttp.BeginContainer(b)
			b, p = zhttp.BeginContainer(b)
			b = zhttp.AppendTnetString(b, []byte("Content-Type"))
			b = zhttp.AppendTnetString(b, []byte("text/plain"))
			b = zhttp.EndContainer(b, p, zhttp.TnetList)
			b = zhttp.EndContainer(b, h, zhttp.TnetList)
			b = zhttp.AppendTnetString(b, []byte("body"))
			b = zhttp.AppendTnetString(b, body)
			if streamMode {
				b = zhttp.AppendTnetString(b, []byte("more"))
				b = zhttp.AppendTnetBool(b, true)
			}
		} else {
			b = zhttp.AppendTnetString(b, []byte("type"))
			b = zhttp.AppendTnetString(b, []byte("credit"))
			b = zhttp.AppendTnetString(b, []byte("credits"))
			b = zhttp.AppendTnetInt(b, int64(credits))
		}
		b = zhttp.EndContainer(b, m, zhttp.TnetDict)
		buf = b
		pub.SendBytes(b, 0)
	}
	var kaIDs, kaPackets int
	lastReport, lastKeepAlive := time.Now(), time.Now()
	open := map[string]bool{} // stream mode: sessions kept open
	for {
		if streamMode && time.Since(lastReport) >= 10*time.Second {
			fmt.Fprintf(os.Stderr, "keepalive-ids %d packets %d\n", kaIDs, kaPackets)
			lastReport = time.Now()
		}
		if streamMode && time.Since(lastKeepAlive) >= 20*time.Second {
			// Like Pushpin: keep our sessions alive, 128 ids per packet,
			// without seq (optional from handlers).
			sendKeepAlives(pub, prefix, id, open)
			lastKeepAlive = time.Now()
		}
		polled, err := poller.Poll(time.Second)
		if err != nil {
			return err
		}
		for _, p := range polled {
			frames, err := p.Socket.RecvMessageBytes(zmq.DONTWAIT)
			if err != nil {
				continue
			}
			if err := pkt.Parse(frames[len(frames)-1]); err != nil {
				continue
			}
			sid := pkt.IDs[0].ID
			if pkt.Type == zhttp.TypeKeepAlive {
				kaIDs += len(pkt.IDs)
				kaPackets++
				continue
			}
			switch {
			case pkt.Type == zhttp.TypeCancel:
				delete(seqs, string(sid))
				delete(open, string(sid))
			case pkt.Type != zhttp.TypeData:
			case p.Socket == pull && !pkt.More:
				send(sid, 0, true, 0)
				if streamMode {
					open[string(sid)] = true
				}
			case p.Socket == pull:
				send(sid, 0, false, 65536)
				seqs[string(sid)] = 1
			default: // body packet
				seq, ok := seqs[string(sid)]
				if !ok {
					continue
				}
				if pkt.More {
					send(sid, seq, false, len(pkt.Body))
					seqs[string(sid)] = seq + 1
				} else {
					send(sid, seq, true, 0)
					delete(seqs, string(sid))
				}
			}
		}
	}
}

// sendKeepAlives sends multi-id keep-alives for every open session.
func sendKeepAlives(pub *zmq.Socket, prefix []byte, from string, open map[string]bool) {
	ids := make([]string, 0, len(open))
	for sid := range open {
		ids = append(ids, sid)
	}
	for len(ids) > 0 {
		n := min(len(ids), zhttp.MaxIDs)
		b := append([]byte(nil), prefix...)
		b = append(b, 'T')
		b, m := zhttp.BeginContainer(b)
		b = zhttp.AppendTnetString(b, []byte("from"))
		b = zhttp.AppendTnetString(b, []byte(from))
		b = zhttp.AppendTnetString(b, []byte("id"))
		var l int
		b, l = zhttp.BeginContainer(b)
		for _, sid := range ids[:n] {
			var d int
			b, d = zhttp.BeginContainer(b)
			b = zhttp.AppendTnetString(b, []byte("id"))
			b = zhttp.AppendTnetString(b, []byte(sid))
			b = zhttp.EndContainer(b, d, zhttp.TnetDict)
		}
		b = zhttp.EndContainer(b, l, zhttp.TnetList)
		b = zhttp.AppendTnetString(b, []byte("type"))
		b = zhttp.AppendTnetString(b, []byte("keep-alive"))
		b = zhttp.EndContainer(b, m, zhttp.TnetDict)
		pub.SendBytes(b, 0)
		ids = ids[n:]
	}
}
