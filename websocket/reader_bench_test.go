package websocket

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// BenchmarkReaderNext reads 1 KiB masked frames: binary (unmasking only)
// and text (unmasking and UTF-8 validation).
func BenchmarkReaderNext(b *testing.B) {
	for _, bc := range []struct {
		name  string
		op    Opcode
		frame []byte
	}{
		{"binary_1KiB", OpBinary, cframe(true, OpBinary, string(bytes.Repeat([]byte{0xa5, 0x00, 0x7f, 0xff}, 256)))},
		{"text_ascii_1KiB", OpText, cframe(true, OpText, strings.Repeat("abcdefgh", 128))},
		{"text_multibyte_1KiB", OpText, cframe(true, OpText, text1K("héllo wörld €😀!"))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			buf := bytes.Clone(bc.frame)
			var r Reader
			b.SetBytes(int64(len(bc.frame)))
			b.ReportAllocs()
			for b.Loop() {
				if bc.op == OpText {
					copy(buf, bc.frame) // text must stay valid; binary is unmasked back and forth
				}
				ev, n, err := r.Next(buf, 1<<20)
				if err != nil || n != len(buf) || !ev.Fin {
					b.Fatalf("Next = %v, %d, %v", ev.Kind, n, err)
				}
			}
		})
	}
}

func BenchmarkUTF8(b *testing.B) {
	for _, bc := range []struct {
		name string
		in   []byte
	}{
		{"ascii_1KiB", bytes.Repeat([]byte("abcdefgh"), 128)},
		{"greek_1KiB", []byte(text1K("κόσμε"))},
		{"mixed_1KiB", []byte(text1K("héllo wörld €😀!"))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var u UTF8
			b.SetBytes(int64(len(bc.in)))
			b.ReportAllocs()
			for b.Loop() {
				u.Reset()
				u.Write(bc.in)
			}
		})
	}
}

func BenchmarkAppendFrameHeader(b *testing.B) {
	dst := make([]byte, 0, 16)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendFrameHeader(dst[:0], true, OpBinary, 70000)
	}
}

func BenchmarkAppendHandshakeResponse(b *testing.B) {
	dst := make([]byte, 0, 512)
	h := hdrs("Sec-WebSocket-Protocol", "chat")
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendHandshakeResponse(dst[:0], nil, h, []byte(sampleKey))
	}
}

// text1K repeats s, whole runes only, and pads with ASCII to 1024 bytes.
func text1K(s string) string {
	var sb strings.Builder
	for sb.Len() < 1024 {
		for _, r := range s {
			if sb.Len()+utf8.RuneLen(r) > 1024 {
				return sb.String() + strings.Repeat(".", 1024-sb.Len())
			}
			sb.WriteRune(r)
		}
	}
	return sb.String()
}
