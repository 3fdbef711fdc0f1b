package websocket

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func data(op Opcode, s string) item   { return item{kind: EvData, op: op, data: s, fin: true} }
func text(s string) item              { return data(OpText, s) }
func ping(s string) item              { return item{kind: EvPing, op: OpPing, data: s} }
func pong(s string) item              { return item{kind: EvPong, op: OpPong, data: s} }
func closeEv(code int, s string) item { return item{kind: EvClose, op: OpClose, data: s, code: code} }

type readerCase struct {
	name       string
	in         []byte
	maxMessage int64
	want       []item
	code       int // expected ProtocolError code, 0 for none
}

// readerCases cover every frame rule of RFC 6455 §5 the Reader enforces.
func readerCases() []readerCase {
	big126 := strings.Repeat("x", 126)
	big64k := strings.Repeat("0123456789abcdef", 4096)     // 65536 bytes: 64-bit length
	max16 := strings.Repeat("y", 65535)                    // largest 16-bit length
	ctl125 := strings.Repeat("p", MaxControlPayload)       // largest control payload
	msb64 := []byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0} // 64-bit length 2^63
	msb64 = append(msb64, testKey[:]...)

	cases := []readerCase{
		// Data messages.
		{name: "text_single_frame", in: cframe(true, OpText, "hi"), want: []item{text("hi")}},
		{name: "zhttp_example_hi", in: []byte{0x81, 0x82, 0x37, 0xfa, 0x21, 0x3d, 0x5f, 0x93}, want: []item{text("hi")}},
		{name: "binary_single_frame", in: cframe(true, OpBinary, "\x00\xff\xfe"), want: []item{data(OpBinary, "\x00\xff\xfe")}},
		{name: "empty_text", in: cframe(true, OpText, ""), want: []item{text("")}},
		{name: "empty_binary", in: cframe(true, OpBinary, ""), want: []item{data(OpBinary, "")}},
		{name: "fragmented_text", in: cat(cframe(false, OpText, "Hel"), cframe(false, OpContinuation, "lo "), cframe(true, OpContinuation, "world")),
			want: []item{text("Hello world")}},
		{name: "fragmented_binary_keeps_opcode", in: cat(cframe(false, OpBinary, "ab"), cframe(true, OpContinuation, "cd")),
			want: []item{data(OpBinary, "abcd")}},
		{name: "empty_nonfinal_fragments_skipped", in: cat(cframe(false, OpText, ""), cframe(false, OpContinuation, ""), cframe(true, OpContinuation, "x")),
			want: []item{text("x")}},
		{name: "empty_fragments_then_empty_final", in: cat(cframe(false, OpBinary, ""), cframe(true, OpContinuation, "")),
			want: []item{data(OpBinary, "")}},
		{name: "messages_back_to_back", in: cat(cframe(true, OpText, "one"), cframe(true, OpBinary, "two"), cframe(true, OpText, "")),
			want: []item{text("one"), data(OpBinary, "two"), text("")}},
		{name: "length_16bit_126", in: cframe(true, OpBinary, big126), want: []item{data(OpBinary, big126)}},
		{name: "length_16bit_65535", in: cframe(true, OpText, max16), want: []item{text(max16)}},
		{name: "length_64bit_65536", in: cframe(true, OpText, big64k), want: []item{text(big64k)}},

		// Control frames (§5.5).
		{name: "ping", in: cframe(true, OpPing, "are you there"), want: []item{ping("are you there")}},
		{name: "ping_empty", in: cframe(true, OpPing, ""), want: []item{ping("")}},
		{name: "ping_125_bytes", in: cframe(true, OpPing, ctl125), want: []item{ping(ctl125)}},
		{name: "pong", in: cframe(true, OpPong, "\x01\x02"), want: []item{pong("\x01\x02")}},
		{name: "ping_between_fragments", in: cat(cframe(false, OpText, "a"), cframe(true, OpPing, "p"), cframe(true, OpContinuation, "b")),
			want: []item{text("ab"), ping("p")}},
		{name: "controls_between_empty_fragments", in: cat(cframe(false, OpText, ""), cframe(true, OpPong, "q"), cframe(false, OpContinuation, ""), cframe(true, OpPing, ""), cframe(true, OpContinuation, "z")),
			want: []item{pong("q"), ping(""), text("z")}},
		{name: "close_between_fragments", in: cat(cframe(false, OpBinary, "a"), cframe(true, OpClose, closePayload(1001, "gone"))),
			want: []item{{kind: EvData, op: OpBinary, data: "a"}, closeEv(1001, "gone")}},
		{name: "close_without_code", in: cframe(true, OpClose, ""), want: []item{closeEv(0, "")}},
		{name: "close_1000", in: cframe(true, OpClose, closePayload(1000, "")), want: []item{closeEv(1000, "")}},
		{name: "zhttp_example_close_1000", in: []byte{0x88, 0x82, 0x37, 0xfa, 0x21, 0x3d, 0x34, 0x12}, want: []item{closeEv(1000, "")}},
		{name: "close_code_and_reason", in: cframe(true, OpClose, closePayload(4000, "bye")), want: []item{closeEv(4000, "bye")}},
		{name: "close_utf8_reason", in: cframe(true, OpClose, closePayload(1000, "κόσμε")), want: []item{closeEv(1000, "κόσμε")}},
		{name: "close_max_reason", in: cframe(true, OpClose, closePayload(3000, strings.Repeat("r", 123))), want: []item{closeEv(3000, strings.Repeat("r", 123))}},
		{name: "nothing_read_after_close", in: cat(cframe(true, OpClose, ""), cframe(true, OpText, "late"), []byte{0xff, 0x00}),
			want: []item{closeEv(0, "")}},

		// UTF-8 across frames and in binary messages.
		{name: "utf8_split_across_frames", in: cat(cframe(false, OpText, "\xce"), cframe(true, OpContinuation, "\xba\xe1\xbd\xb9")),
			want: []item{text("\xce\xba\xe1\xbd\xb9")}},
		{name: "utf8_4byte_split_over_3_frames", in: cat(cframe(false, OpText, "\xf0\x9f"), cframe(false, OpContinuation, "\x98"), cframe(true, OpContinuation, "\x80!")),
			want: []item{text("😀!")}},
		{name: "binary_is_not_utf8_checked", in: cframe(true, OpBinary, "\xff\xc0\xed\xa0\x80"), want: []item{data(OpBinary, "\xff\xc0\xed\xa0\x80")}},

		// MaxMessage (1009).
		{name: "max_message_exact", maxMessage: 5, in: cat(cframe(false, OpText, "ab"), cframe(true, OpContinuation, "cde")), want: []item{text("abcde")}},
		{name: "max_message_counts_per_message", maxMessage: 3, in: cat(cframe(true, OpText, "abc"), cframe(true, OpBinary, "def")),
			want: []item{text("abc"), data(OpBinary, "def")}},
		{name: "max_message_single_frame_over", maxMessage: 4, in: cframe(true, OpText, "abcde"), code: CloseTooBig},
		{name: "max_message_fragments_over", maxMessage: 4, in: cat(cframe(false, OpText, "abc"), cframe(true, OpPing, ""), cframe(true, OpContinuation, "de")),
			want: []item{ping("")}, code: CloseTooBig},
		{name: "max_message_ignores_control", maxMessage: 1, in: cat(cframe(true, OpPing, "long ping"), cframe(true, OpText, "a")),
			want: []item{ping("long ping"), text("a")}},

		// Protocol errors (1002).
		{name: "unmasked_frame", in: rawFrame(true, 0, OpText, false, -1, "hi"), code: CloseProtocolError},
		{name: "unmasked_control", in: rawFrame(true, 0, OpPing, false, -1, ""), code: CloseProtocolError},
		{name: "rsv1", in: rawFrame(true, 4, OpText, true, -1, "hi"), code: CloseProtocolError},
		{name: "rsv2", in: rawFrame(true, 2, OpBinary, true, -1, "hi"), code: CloseProtocolError},
		{name: "rsv3", in: rawFrame(true, 1, OpPing, true, -1, ""), code: CloseProtocolError},
		{name: "opcode_3", in: cframe(true, 3, ""), code: CloseProtocolError},
		{name: "opcode_7", in: cframe(true, 7, "x"), code: CloseProtocolError},
		{name: "opcode_11", in: cframe(true, 11, ""), code: CloseProtocolError},
		{name: "opcode_15", in: cframe(true, 15, "x"), code: CloseProtocolError},
		{name: "ping_not_final", in: cframe(false, OpPing, ""), code: CloseProtocolError},
		{name: "close_not_final", in: cframe(false, OpClose, ""), code: CloseProtocolError},
		{name: "ping_126_bytes", in: cframe(true, OpPing, big126), code: CloseProtocolError},
		{name: "pong_126_bytes", in: cframe(true, OpPong, big126), code: CloseProtocolError},
		{name: "close_126_bytes", in: cframe(true, OpClose, closePayload(1000, big126[2:])), code: CloseProtocolError},
		{name: "continuation_without_message", in: cframe(true, OpContinuation, "x"), code: CloseProtocolError},
		{name: "continuation_after_finished_message", in: cat(cframe(true, OpText, "a"), cframe(true, OpContinuation, "b")),
			want: []item{text("a")}, code: CloseProtocolError},
		{name: "text_inside_fragmented_message", in: cat(cframe(false, OpText, "a"), cframe(true, OpText, "b")), code: CloseProtocolError},
		{name: "binary_inside_fragmented_message", in: cat(cframe(false, OpText, "a"), cframe(true, OpBinary, "b")), code: CloseProtocolError},
		{name: "non_minimal_16bit_length", in: rawFrame(true, 0, OpBinary, true, 2, "short"), code: CloseProtocolError},
		{name: "non_minimal_64bit_length", in: rawFrame(true, 0, OpBinary, true, 8, big126), code: CloseProtocolError},
		{name: "non_minimal_64bit_length_zero", in: rawFrame(true, 0, OpBinary, true, 8, ""), code: CloseProtocolError},
		{name: "length_64bit_msb_set", in: msb64, code: CloseProtocolError},
		{name: "close_1_byte", in: cframe(true, OpClose, "\x03"), code: CloseProtocolError},
		{name: "close_reason_invalid_utf8", in: cframe(true, OpClose, closePayload(1000, "\xff")), code: CloseInvalidData},
		{name: "close_reason_truncated_utf8", in: cframe(true, OpClose, closePayload(1000, "ab\xce")), code: CloseInvalidData},

		// Invalid UTF-8 (1007).
		{name: "text_invalid_utf8", in: cframe(true, OpText, "ab\xffcd"), code: CloseInvalidData},
		{name: "text_ends_inside_sequence", in: cframe(true, OpText, "ab\xce"), code: CloseInvalidData},
		{name: "text_invalid_across_frames", in: cat(cframe(false, OpText, "\xce"), cframe(true, OpContinuation, "A")), code: CloseInvalidData},
		{name: "text_message_ends_inside_sequence_empty_final", in: cat(cframe(false, OpText, "\xe2\x82"), cframe(true, OpContinuation, "")), code: CloseInvalidData},
		{name: "text_invalid_after_ping", in: cat(cframe(false, OpText, "ok"), cframe(true, OpPing, "x"), cframe(true, OpContinuation, "\xc0\x80")),
			want: []item{ping("x")}, code: CloseInvalidData},
		{name: "error_after_events", in: cat(cframe(true, OpText, "fine"), cframe(true, OpPing, ""), rawFrame(true, 0, OpText, false, -1, "x")),
			want: []item{text("fine"), ping("")}, code: CloseProtocolError},

		// Incomplete input: nothing reported, no error.
		{name: "partial_header", in: cframe(true, OpText, "hello")[:1]},
		{name: "partial_16bit_length", in: cframe(true, OpText, big126)[:3]},
		{name: "partial_mask", in: cframe(true, OpText, "hello")[:5]},
		{name: "partial_control_frame", in: cframe(true, OpPing, "hello")[:8]},
	}
	for _, code := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999} {
		cases = append(cases, readerCase{name: "close_valid_code_" + strconv.Itoa(code),
			in: cframe(true, OpClose, closePayload(code, "")), want: []item{closeEv(code, "")}})
	}
	for _, code := range []int{0, 999, 1004, 1005, 1006, 1012, 1013, 1014, 1015, 1016, 1100, 2000, 2999, 5000, 65535} {
		cases = append(cases, readerCase{name: "close_invalid_code_" + strconv.Itoa(code),
			in: cframe(true, OpClose, closePayload(code, "")), code: CloseProtocolError})
	}
	return cases
}

// TestReader runs every case on the whole input, byte by byte, and over
// random read splits with random limits: all must give the same normalized
// event stream and error.
func TestReader(t *testing.T) {
	for _, tc := range readerCases() {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(len(tc.in))))
			type mode struct {
				name  string
				next  func() int
				limit int
			}
			modes := []mode{
				{"whole", whole(len(tc.in)), 1 << 30},
				{"byte_by_byte", whole(1), 1 << 30},
				{"byte_by_byte_limit_1", whole(1), 1},
				{"whole_limit_7", whole(len(tc.in)), 7},
			}
			for i := 0; i < 20; i++ {
				modes = append(modes, mode{"random_split", func() int { return 1 + rng.IntN(20) }, 1 + rng.IntN(50)})
			}
			for _, m := range modes {
				r := Reader{MaxMessage: tc.maxMessage}
				got, err := run(&r, bytes.Clone(tc.in), m.next, m.limit, contract)
				if err != nil {
					t.Fatalf("%s: %v", m.name, err)
				}
				want := runResult{items: tc.want, code: tc.code}
				if !slices.Equal(got.items, want.items) || got.code != want.code {
					t.Fatalf("%s:\n got %v\nwant %v", m.name, trunc(got.String()), trunc(want.String()))
				}
			}
		})
	}
}

func trunc(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}

// TestReaderMaskOffset feeds a masked payload in uneven pieces: the mask
// offset must carry over from one read to the next (RFC 6455 §5.3).
func TestReaderMaskOffset(t *testing.T) {
	msg := "the quick brown fox jumps over the lazy dog"
	frame := cframe(true, OpBinary, msg)
	for _, sizes := range [][]int{{7, 1, 2, 3, 5, 8, 13, 21}, {6, 3, 3, 3, 3, 100}, {9, 33, 100}} {
		var r Reader
		buf := bytes.Clone(frame)
		var got []byte
		off := 0
		for _, s := range sizes {
			end := min(off+s, len(buf))
			ev, n, err := r.Next(buf[off:end], 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, ev.Payload...)
			off += n
			if off == len(buf) {
				break
			}
		}
		if string(got) != msg {
			t.Fatalf("sizes %v: got %q", sizes, got)
		}
	}
}

// TestReaderLimit checks that no chunk exceeds the limit and that all
// chunks come out.
func TestReaderLimit(t *testing.T) {
	in := cat(cframe(false, OpBinary, "0123456789"), cframe(true, OpContinuation, "abcd"))
	var r Reader
	buf := bytes.Clone(in)
	var chunks []string
	for len(buf) > 0 {
		ev, n, err := r.Next(buf, 3)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatal("no progress on a whole input")
		}
		if ev.Kind == EvData {
			chunks = append(chunks, string(ev.Payload))
			if ev.Fin != (len(buf) == n) {
				t.Fatalf("Fin = %v with %d bytes left", ev.Fin, len(buf)-n)
			}
		}
		buf = buf[n:]
	}
	want := []string{"012", "345", "678", "9", "abc", "d"}
	if !slices.Equal(chunks, want) {
		t.Fatalf("chunks %q, want %q", chunks, want)
	}
}

// TestReaderNoneSemantics pins down the EvNone results.
func TestReaderNoneSemantics(t *testing.T) {
	t.Run("header_consumed_before_payload", func(t *testing.T) {
		var r Reader
		f := cframe(true, OpText, "hello")
		ev, n, err := r.Next(f[:6], 10)
		if err != nil || ev.Kind != EvNone || n != 6 {
			t.Fatalf("Next(header) = %v, %d, %v; want EvNone, 6, nil", ev.Kind, n, err)
		}
		if !r.InMessage() {
			t.Fatal("InMessage false inside a frame")
		}
		ev, n, err = r.Next(f[6:], 10)
		if err != nil || ev.Kind != EvData || n != 5 || string(ev.Payload) != "hello" || !ev.Fin {
			t.Fatalf("Next(payload) = %+v, %d, %v", ev, n, err)
		}
		if r.InMessage() {
			t.Fatal("InMessage true after the final chunk")
		}
	})
	t.Run("empty_nonfinal_frame_consumed", func(t *testing.T) {
		var r Reader
		f := cframe(false, OpBinary, "")
		ev, n, err := r.Next(f, 10)
		if err != nil || ev.Kind != EvNone || n != len(f) || !r.InMessage() {
			t.Fatalf("Next = %v, %d, %v, InMessage %v", ev.Kind, n, err, r.InMessage())
		}
	})
	t.Run("partial_control_untouched", func(t *testing.T) {
		var r Reader
		f := cframe(true, OpPing, "hello")
		part := bytes.Clone(f[:len(f)-1])
		ev, n, err := r.Next(part, 10)
		if err != nil || ev.Kind != EvNone || n != 0 || !bytes.Equal(part, f[:len(f)-1]) {
			t.Fatalf("Next = %v, %d, %v; buffer modified: %v", ev.Kind, n, err, !bytes.Equal(part, f[:len(f)-1]))
		}
	})
	t.Run("limit_zero_returns_no_payload", func(t *testing.T) {
		var r Reader
		f := cframe(true, OpText, "hello")
		ev, n, err := r.Next(f, 0)
		if err != nil || ev.Kind != EvNone || n != 6 {
			t.Fatalf("Next = %v, %d, %v", ev.Kind, n, err)
		}
		ev, n, err = r.Next(f[6:], 0)
		if err != nil || ev.Kind != EvNone || n != 0 {
			t.Fatalf("Next = %v, %d, %v", ev.Kind, n, err)
		}
		ev, n, err = r.Next(f[6:], 2)
		if err != nil || string(ev.Payload) != "he" || n != 2 {
			t.Fatalf("Next = %+v, %d, %v", ev, n, err)
		}
	})
	t.Run("empty_buffer", func(t *testing.T) {
		var r Reader
		if ev, n, err := r.Next(nil, 10); ev.Kind != EvNone || n != 0 || err != nil {
			t.Fatalf("Next(nil) = %v, %d, %v", ev.Kind, n, err)
		}
	})
}

// TestReaderStickyErrorAndReset: an error repeats until Reset, which keeps
// MaxMessage.
func TestReaderStickyErrorAndReset(t *testing.T) {
	r := Reader{MaxMessage: 10}
	bad := rawFrame(true, 0, OpText, false, -1, "x")
	_, _, err1 := r.Next(bad, 10)
	good := cframe(true, OpText, "ok")
	_, n, err2 := r.Next(good, 10)
	if err1 == nil || err2 != err1 || n != 0 {
		t.Fatalf("errors %v then %v (n=%d); want the same error twice", err1, err2, n)
	}
	pe := err1.(*ProtocolError)
	if pe.Code != 1002 || !strings.Contains(pe.Error(), "unmasked") || !strings.Contains(pe.Error(), "1002") {
		t.Fatalf("error %q code %d", pe.Error(), pe.Code)
	}
	r.Reset()
	if r.MaxMessage != 10 {
		t.Fatalf("Reset cleared MaxMessage")
	}
	ev, n, err := r.Next(good, 10)
	if err != nil || string(ev.Payload) != "ok" || n != len(good) {
		t.Fatalf("after Reset: %+v, %d, %v", ev, n, err)
	}
	// Close, then Reset reopens.
	cl := cframe(true, OpClose, "")
	if ev, _, _ := r.Next(cl, 10); ev.Kind != EvClose || !r.Closed() {
		t.Fatal("close not reported")
	}
	if ev, n, err := r.Next(cframe(true, OpText, "x"), 10); ev.Kind != EvNone || n != 0 || err != nil {
		t.Fatalf("after close: %v, %d, %v", ev.Kind, n, err)
	}
	r.Reset()
	if r.Closed() || r.InMessage() {
		t.Fatal("Reset left state")
	}
}

// randomStream builds a random valid client stream and the events it must
// produce: messages of random kinds fragmented at random (UTF-8 text split
// anywhere), control frames between fragments, and sometimes a close at the
// end. A message is listed before the control frames sent among its
// fragments, which is not always where normalize puts it (after controls
// that precede its first non-empty chunk): compare with sameItems.
func randomStream(rng *rand.Rand) ([]byte, []item) {
	var in []byte
	var want []item
	alphabet := []string{"a", "b", " ", "é", "€", "😀", "\u0800", "\U0010ffff", "\x00"}
	nmsg := 1 + rng.IntN(6)
	for m := 0; m < nmsg; m++ {
		op := OpText
		if rng.IntN(2) == 0 {
			op = OpBinary
		}
		var sb strings.Builder
		size := rng.IntN(300)
		if rng.IntN(8) == 0 {
			size = 70000 // 64-bit length when sent in one frame
		}
		for sb.Len() < size {
			sb.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		msg := sb.String()
		want = append(want, data(op, msg))
		// Cut into frames at random byte positions.
		nf := 1 + rng.IntN(4)
		cuts := []int{0}
		for i := 1; i < nf; i++ {
			cuts = append(cuts, rng.IntN(len(msg)+1))
		}
		slices.Sort(cuts)
		cuts = append(cuts, len(msg))
		for i := 0; i+1 < len(cuts); i++ {
			fop := op
			if i > 0 {
				fop = OpContinuation
			}
			in = append(in, cframe(i+2 == len(cuts), fop, msg[cuts[i]:cuts[i+1]])...)
			if rng.IntN(3) == 0 {
				p := strings.Repeat("p", rng.IntN(126))
				if rng.IntN(2) == 0 {
					in = append(in, cframe(true, OpPing, p)...)
					want = append(want, ping(p))
				} else {
					in = append(in, cframe(true, OpPong, p)...)
					want = append(want, pong(p))
				}
			}
		}
	}
	if rng.IntN(2) == 0 {
		in = append(in, cframe(true, OpClose, closePayload(1000, "done"))...)
		want = append(want, closeEv(1000, "done"))
	}
	return in, want
}

// TestReaderRandomStreams compares random splits and limits with a whole
// read, and the whole read with the generator's multiset of events.
func TestReaderRandomStreams(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < 120; i++ {
		in, want := randomStream(rng)
		var r Reader
		ref, err := run(&r, bytes.Clone(in), whole(len(in)), 1<<30, contract)
		if err != nil || ref.code != 0 {
			t.Fatalf("stream %d: whole read: %v, code %d", i, err, ref.code)
		}
		if !sameItems(ref.items, want) {
			t.Fatalf("stream %d: whole read\n got %v\nwant %v", i, trunc(ref.String()), trunc(runResult{items: want}.String()))
		}
		for j := 0; j < 5; j++ {
			r.Reset()
			limit := 1 + rng.IntN(200)
			got, err := run(&r, bytes.Clone(in), func() int { return 1 + rng.IntN(300) }, limit, contract)
			if err != nil {
				t.Fatalf("stream %d split %d: %v", i, j, err)
			}
			if !slices.Equal(got.items, ref.items) || got.code != 0 {
				t.Fatalf("stream %d split %d limit %d:\n got %v\nwant %v", i, j, limit, trunc(got.String()), trunc(ref.String()))
			}
		}
	}
}

// sameItems compares data messages in order and control events in order,
// independently (where a message lands relative to the control frames
// depends on empty first fragments).
func sameItems(a, b []item) bool {
	split := func(s []item) (d, c []item) {
		for _, it := range s {
			if it.kind == EvData {
				d = append(d, it)
			} else {
				c = append(c, it)
			}
		}
		return
	}
	ad, ac := split(a)
	bd, bc := split(b)
	return slices.Equal(ad, bd) && slices.Equal(ac, bc)
}

func TestReaderUnread(t *testing.T) {
	key := [4]byte{1, 2, 3, 4}
	masked := func(fin bool, op Opcode, payload string) []byte {
		b := []byte{byte(op), 0x80 | byte(len(payload))}
		if fin {
			b[0] |= 0x80
		}
		b = append(b, key[:]...)
		for i := range len(payload) {
			b = append(b, payload[i]^key[i%4])
		}
		return b
	}
	// A fragmented text message with a ping between its frames and a close.
	var stream []byte
	stream = append(stream, masked(false, OpText, "hello, ")...)
	stream = append(stream, masked(true, OpPing, "are you there")...)
	stream = append(stream, masked(true, OpContinuation, "world")...)
	stream = append(stream, masked(true, OpClose, "\x03\xe8bye")...)
	orig := append([]byte(nil), stream...)

	// Every event is read, undone, and read again: same events, and an
	// undone stream is byte for byte what arrived.
	var r Reader
	var got []string
	buf := stream
	for len(buf) > 0 {
		before := r
		ev, n, err := r.Next(buf, 3) // small credit: data in pieces
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatalf("stuck with %d bytes left", len(buf))
		}
		first := string(ev.Payload)
		r.Unread(buf, n, ev, before)
		if pos := len(stream) - len(buf); !bytes.Equal(stream[pos:], orig[pos:]) {
			t.Fatalf("after Unread of %q the bytes differ", first)
		}
		ev2, n2, err := r.Next(buf, 3)
		if err != nil || n2 != n || string(ev2.Payload) != first || ev2.Kind != ev.Kind {
			t.Fatalf("again: %v %d %q %v, first %d %q", ev2.Kind, n2, ev2.Payload, err, n, first)
		}
		if ev.Kind != EvNone {
			got = append(got, first)
		}
		buf = buf[n:]
	}
	want := []string{"hel", "lo,", " ", "are you there", "wor", "ld", "bye"}
	if !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
}
