package main

import (
	"bytes"
	"compress/flate"
	"errors"
	"strconv"
)

// Client side of the two protocols, as small as the load tests need: build
// the requests once, parse response heads and WebSocket frame headers.

func httpRequest(host string, path string) []byte {
	return []byte("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: condure-loadgen\r\n\r\n")
}

// wsKey and wsAccept are RFC 6455's example key and its accept value.
const (
	wsKey    = "dGhlIHNhbXBsZSBub25jZQ=="
	wsAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
)

func wsHandshake(host string, path string) []byte {
	return []byte("GET " + path + " HTTP/1.1\r\nHost: " + host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + wsKey + "\r\n\r\n")
}

// wsFrame returns one masked text frame carrying size bytes of letters.
func wsFrame(size int) []byte {
	p := make([]byte, size)
	for i := range p {
		p[i] = 'a' + byte(i%26)
	}
	return wsFrameOf(p)
}

// wsFrameOf returns one masked text frame carrying p.
func wsFrameOf(p []byte) []byte {
	size := len(p)
	mask := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	var b []byte
	b = append(b, 0x81)
	switch {
	case size < 126:
		b = append(b, 0x80|byte(size))
	case size < 65536:
		b = append(b, 0x80|126, byte(size>>8), byte(size))
	default:
		b = append(b, 0x80|127)
		for i := 7; i >= 0; i-- {
			b = append(b, byte(uint64(size)>>(8*i)))
		}
	}
	b = append(b, mask[:]...)
	for i := 0; i < size; i++ {
		b = append(b, p[i]^mask[i%4])
	}
	return b
}

// wsDeflateHandshake adds a browser's permessage-deflate offer (Chromium's)
// to a handshake.
func wsDeflateHandshake(h []byte) []byte {
	const ext = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
	return append(bytes.TrimSuffix(h, []byte("\r\n")), ext...)
}

// wsDeflateFrame is wsFrame's message compressed (RFC 7692: RSV1, raw
// DEFLATE with the sync flush tail removed).
func wsDeflateFrame(size int) []byte {
	msg := make([]byte, size)
	for i := range msg {
		msg[i] = 'a' + byte(i%26)
	}
	return wsDeflateFrameOf(msg)
}

// jsonMessage returns size bytes (at least 80) of JSON like an
// application's update message (keys repeat, values vary), for -json:
// compressible, unlike -size's letters, but not trivially. Spaces pad it to
// size.
func jsonMessage(size int) []byte {
	b := []byte(`{"type":"update","channel":"orders/eu-west","seq":48213,"items":[`)
	var item []byte
	for i := 0; ; i++ {
		item = item[:0]
		if i > 0 {
			item = append(item, ',')
		}
		item = append(item, `{"id":`...)
		item = strconv.AppendInt(item, int64(100003+i*7919%10007), 10)
		item = append(item, `,"sku":"SKU-`...)
		item = strconv.AppendInt(item, int64(i*2654435761%99991), 36)
		item = append(item, `","qty":`...)
		item = strconv.AppendInt(item, int64(1+i*31%17), 10)
		item = append(item, `,"price":`...)
		item = strconv.AppendFloat(item, float64(i*7717%100000)/100, 'f', 2, 64)
		item = append(item, `,"status":"`...)
		item = append(item, [...]string{"pending", "shipped", "delivered", "cancelled"}[i*13%4]...)
		item = append(item, `"}`...)
		if len(b)+len(item)+2 > size {
			break
		}
		b = append(b, item...)
	}
	for len(b)+2 < size {
		b = append(b, ' ')
	}
	return append(b, "]}"...)
}

// wsDeflateFrameOf is wsFrameOf(msg) compressed.
func wsDeflateFrameOf(msg []byte) []byte {
	var z bytes.Buffer
	fw, _ := flate.NewWriter(&z, flate.BestSpeed)
	fw.Write(msg)
	fw.Flush()
	p := bytes.TrimSuffix(z.Bytes(), []byte{0, 0, 0xff, 0xff})
	f := wsFrameOf(p)
	f[0] |= 0x40
	return f
}

// head is what the tools need from a response head.
type head struct {
	status  int
	length  int64 // Content-Length, -1 if absent
	chunked bool
	close   bool // Connection: close
	accept  []byte
}

var errHead = errors.New("malformed response head")

// parseHead parses a response head that ends with the blank line.
func parseHead(b []byte) (head, error) {
	h := head{length: -1}
	line, rest, ok := bytes.Cut(b, []byte("\r\n"))
	if !ok || !bytes.HasPrefix(line, []byte("HTTP/1.")) || len(line) < 12 || line[8] != ' ' {
		return h, errHead
	}
	code, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return h, errHead
	}
	h.status = code
	for len(rest) > 0 {
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		if len(line) == 0 {
			break
		}
		name, val, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return h, errHead
		}
		val = bytes.TrimSpace(val)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, err := strconv.ParseInt(string(val), 10, 64)
			if err != nil || n < 0 {
				return h, errHead
			}
			h.length = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			h.chunked = bytes.Contains(bytes.ToLower(val), []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			h.close = bytes.Contains(bytes.ToLower(val), []byte("close"))
		case bytes.EqualFold(name, []byte("Sec-WebSocket-Accept")):
			h.accept = val
		}
	}
	return h, nil
}

// frameHead is a parsed WebSocket frame header.
type frameHead struct {
	fin    bool
	op     byte
	length int64
	size   int // header bytes, mask included
}

// parseFrameHead parses the frame header at the start of b; ok is false
// when b does not hold all of it yet.
func parseFrameHead(b []byte) (f frameHead, ok bool) {
	if len(b) < 2 {
		return f, false
	}
	f.fin = b[0]&0x80 != 0
	f.op = b[0] & 0x0f
	n := int64(b[1] & 0x7f)
	f.size = 2
	switch n {
	case 126:
		if len(b) < 4 {
			return f, false
		}
		n = int64(b[2])<<8 | int64(b[3])
		f.size = 4
	case 127:
		if len(b) < 10 {
			return f, false
		}
		n = 0
		for i := 2; i < 10; i++ {
			n = n<<8 | int64(b[i])
		}
		f.size = 10
	}
	if b[1]&0x80 != 0 {
		f.size += 4
	}
	if len(b) < f.size {
		return f, false
	}
	f.length = n
	return f, true
}
