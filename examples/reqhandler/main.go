// Command reqhandler is a req-mode example handler in Go: it connects a REP
// socket to the server's --zclient-req spec and answers every request with
// 200 "hello world", echoing the method, URI and body size.
//
//	go run ./examples/reqhandler --spec ipc://client
package main

import (
	"flag"
	"log"

	zmq "github.com/pebbe/zmq4"

	"github.com/condure-go/condure/zhttp/zhttptest"
)

func main() {
	spec := flag.String("spec", "ipc://client", "the server's --zclient-req spec")
	flag.Parse()
	rep, err := zmq.NewSocket(zmq.REP) // REP strips and restores the ["", …] envelope
	if err != nil {
		log.Fatal(err)
	}
	if err := rep.Connect(*spec); err != nil {
		log.Fatal(err)
	}
	log.Printf("req handler connected to %s", *spec)
	for {
		msg, err := rep.RecvBytes(0)
		if err != nil {
			log.Fatal(err)
		}
		req, err := zhttptest.DecodePacket(msg)
		if err != nil {
			log.Printf("bad packet: %v", err)
			rep.SendBytes(nil, 0) // REP must answer before it can receive again
			continue
		}
		body, _ := req["body"].(string)
		log.Printf("%v %v (%d body bytes)", req["method"], req["uri"], len(body))
		reply := zhttptest.EncodePacket(map[string]any{
			"id":      req["id"],
			"code":    200,
			"reason":  "OK",
			"headers": [][]string{{"Content-Type", "text/plain"}},
			"body":    "hello world\n",
		})
		if _, err := rep.SendBytes(reply, 0); err != nil {
			log.Fatal(err)
		}
	}
}
