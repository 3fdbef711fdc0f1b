package zhttp

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// Test-side tnetstring builders, kept naive on purpose so they check the codec
// rather than reuse it.

func tnStr(s string) string { return strconv.Itoa(len(s)) + ":" + s + "," }
func tnInt(n int64) string {
	d := strconv.FormatInt(n, 10)
	return strconv.Itoa(len(d)) + ":" + d + "#"
}
func tnBool(b bool) string {
	if b {
		return "4:true!"
	}
	return "5:false!"
}
func tnList(items ...string) string {
	p := strings.Join(items, "")
	return strconv.Itoa(len(p)) + ":" + p + "]"
}

// tnDict takes alternating raw keys and encoded values.
func tnDict(kv ...string) string {
	var p strings.Builder
	for i := 0; i < len(kv); i += 2 {
		p.WriteString(tnStr(kv[i]))
		p.WriteString(kv[i+1])
	}
	return strconv.Itoa(p.Len()) + ":" + p.String() + "}"
}

// tnMsg is a ZHTTP message: "T" and a dict.
func tnMsg(kv ...string) string { return "T" + tnDict(kv...) }

func testHeaders(pairs ...string) []Header {
	h := make([]Header, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		h = append(h, Header{Name: []byte(pairs[i]), Value: []byte(pairs[i+1])})
	}
	return h
}

// Server → handler packets captured from condure 1.9.1 (reference.md §10).
var appendVectors = []struct {
	name string
	out  Out
	want string
}{
	{
		name: "stream_request_with_body",
		out: Out{
			From: []byte("condure"), ID: []byte("0-0-0"), Seq: 0,
			Method: []byte("POST"), URI: []byte("http://api.example/orders?id=7"),
			Headers: testHeaders("Host", "api.example", "Content-Length", "5"),
			Credits: 8192, More: true, Stream: true,
			PeerAddress: []byte("127.0.0.1"), PeerPort: 23500,
		},
		want: "T282:4:from,7:condure,2:id,5:0-0-0,3:seq,1:0#3:ext,15:5:multi,4:true!}6:method,4:POST,3:uri,30:http://api.example/orders?id=7,7:headers,52:22:4:Host,11:api.example,]22:14:Content-Length,1:5,]]7:credits,4:8192#4:more,4:true!6:stream,4:true!12:peer-address,9:127.0.0.1,9:peer-port,5:23500#}",
	},
	{
		name: "last_body_chunk_without_more",
		out:  Out{From: []byte("condure"), ID: []byte("0-0-0"), Seq: 1, Body: []byte("hello")},
		want: "T80:4:from,7:condure,2:id,5:0-0-0,3:seq,1:1#3:ext,15:5:multi,4:true!}4:body,5:hello,}",
	},
	{
		name: "credit",
		out:  Out{From: []byte("condure"), ID: []byte("0-0-0"), Seq: 2, Type: TypeCredit, Credits: 3},
		want: "T95:4:from,7:condure,2:id,5:0-0-0,3:seq,1:2#3:ext,15:5:multi,4:true!}4:type,6:credit,7:credits,1:3#}",
	},
	{
		name: "keep_alive_single_id",
		out:  Out{From: []byte("condure"), ID: []byte("0-0-0"), Seq: 3, Type: TypeKeepAlive},
		want: "T86:4:from,7:condure,2:id,5:0-0-0,3:seq,1:3#3:ext,15:5:multi,4:true!}4:type,10:keep-alive,}",
	},
	{
		name: "keep_alive_batched_multi_id",
		out: Out{
			From: []byte("condure"), Type: TypeKeepAlive,
			Multi: []IDSeq{{ID: []byte("0-0-0"), Seq: 2, HasSeq: true}, {ID: []byte("0-1-1"), Seq: 2, HasSeq: true}},
		},
		want: "T126:4:from,7:condure,2:id,54:23:2:id,5:0-0-0,3:seq,1:2#}23:2:id,5:0-1-1,3:seq,1:2#}]3:ext,15:5:multi,4:true!}4:type,10:keep-alive,}",
	},
	{
		name: "req_mode_request_without_from_or_seq",
		out: Out{
			ID: []byte("0-0-2"), NoSeq: true,
			Method: []byte("GET"), URI: []byte("http://api.example/status"),
			Headers:     testHeaders("Host", "api.example"),
			PeerAddress: []byte("127.0.0.1"), PeerPort: 23501,
		},
		want: "T176:2:id,5:0-0-2,3:ext,15:5:multi,4:true!}6:method,3:GET,3:uri,25:http://api.example/status,7:headers,26:22:4:Host,11:api.example,]]12:peer-address,9:127.0.0.1,9:peer-port,5:23501#}",
	},
	{
		name: "websocket_request_without_stream_or_more",
		out: Out{
			From: []byte("condure"), ID: []byte("0-0-4"), Seq: 0,
			Method: []byte("GET"), URI: []byte("ws://ws.example/chat"),
			Headers: testHeaders("Host", "ws.example", "Upgrade", "websocket", "Connection", "Upgrade",
				"Sec-WebSocket-Version", "13", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
			Credits:     8192,
			PeerAddress: []byte("127.0.0.1"), PeerPort: 23502,
		},
		want: "T356:4:from,7:condure,2:id,5:0-0-4,3:seq,1:0#3:ext,15:5:multi,4:true!}6:method,3:GET,3:uri,20:ws://ws.example/chat,7:headers,166:21:4:Host,10:ws.example,]22:7:Upgrade,9:websocket,]24:10:Connection,7:Upgrade,]30:21:Sec-WebSocket-Version,2:13,]49:17:Sec-WebSocket-Key,24:dGhlIHNhbXBsZSBub25jZQ==,]]7:credits,4:8192#12:peer-address,9:127.0.0.1,9:peer-port,5:23502#}",
	},
	{
		name: "websocket_message_with_content_type",
		out:  Out{From: []byte("condure"), ID: []byte("0-0-4"), Seq: 1, ContentType: []byte("text"), Body: []byte("hi")},
		want: "T100:4:from,7:condure,2:id,5:0-0-4,3:seq,1:1#3:ext,15:5:multi,4:true!}12:content-type,4:text,4:body,2:hi,}",
	},
	{
		name: "websocket_credit",
		out:  Out{From: []byte("condure"), ID: []byte("0-0-4"), Seq: 2, Type: TypeCredit, Credits: 5},
		want: "T95:4:from,7:condure,2:id,5:0-0-4,3:seq,1:2#3:ext,15:5:multi,4:true!}4:type,6:credit,7:credits,1:5#}",
	},
	{
		name: "websocket_close_with_code",
		out:  Out{From: []byte("condure"), ID: []byte("0-0-4"), Seq: 3, Type: TypeClose, Code: 1000, HasCode: true},
		want: "T94:4:from,7:condure,2:id,5:0-0-4,3:seq,1:3#3:ext,15:5:multi,4:true!}4:type,5:close,4:code,4:1000#}",
	},
}

func TestAppendPacket(t *testing.T) {
	for _, tt := range appendVectors {
		t.Run(tt.name, func(t *testing.T) {
			got := AppendPacket(nil, &tt.out)
			if string(got) != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// Fields §3.3 does not exercise in the captured examples.
func TestAppendPacketFieldOrder(t *testing.T) {
	base := func() Out { return Out{From: []byte("c"), ID: []byte("1"), Seq: 7} }
	head := "4:from,1:c,2:id,1:1,3:seq,1:7#3:ext,15:5:multi,4:true!}"
	tests := []struct {
		name string
		edit func(*Out)
		want string
	}{
		{"empty_data_packet", func(*Out) {}, ""},
		{"cancel", func(o *Out) { o.Type = TypeCancel }, "4:type,6:cancel,"},
		{"handoff_proceed", func(o *Out) { o.Type = TypeHandoffProceed }, "4:type,15:handoff-proceed,"},
		{"close_with_code_and_reason", func(o *Out) { o.Type, o.Code, o.HasCode, o.Body = TypeClose, 1001, true, []byte("bye") },
			"4:type,5:close,4:code,4:1001#4:body,3:bye,"},
		{"close_without_code", func(o *Out) { o.Type = TypeClose }, "4:type,5:close,"},
		{"ping_with_body", func(o *Out) { o.Type, o.Body = TypePing, []byte("p") }, "4:type,4:ping,4:body,1:p,"},
		{"pong_empty_body_omitted", func(o *Out) { o.Type, o.Body = TypePong, []byte{} }, "4:type,4:pong,"},
		{"error_condition_then_credits_then_code_then_body",
			func(o *Out) {
				o.Type, o.Condition, o.Credits, o.Code, o.HasCode, o.Body = TypeError, []byte("bad"), 2, 400, true, []byte("x")
			},
			"4:type,5:error,9:condition,3:bad,7:credits,1:2#4:code,3:400#4:body,1:x,"},
		{"typed_ignores_data_fields",
			func(o *Out) {
				o.Type, o.Method, o.Headers, o.More, o.Stream = TypeKeepAlive, []byte("GET"), testHeaders("a", "b"), true, true
			},
			"4:type,10:keep-alive,"},
		{"data_ignores_code_and_condition",
			func(o *Out) { o.Code, o.HasCode, o.Condition = 200, true, []byte("c") }, ""},
		{"empty_strings_omitted",
			func(o *Out) { o.Method, o.URI, o.ContentType, o.Body = []byte{}, []byte{}, []byte{}, []byte{} }, ""},
		{"empty_header_list_omitted", func(o *Out) { o.Headers = []Header{} }, ""},
		{"empty_header_value_kept", func(o *Out) { o.Headers = testHeaders("X-Empty", "") }, "7:headers,17:13:7:X-Empty,0:,]]"},
		{"peer_port_needs_address", func(o *Out) { o.PeerPort = 80 }, ""},
		{"unknown_type_written_as_data", func(o *Out) { o.Type, o.Body = TypeUnknown, []byte("b") }, "4:body,1:b,"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base()
			tt.edit(&o)
			body := head + tt.want
			want := "T" + strconv.Itoa(len(body)) + ":" + body + "}"
			if got := AppendPacket(nil, &o); string(got) != want {
				t.Fatalf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestAppendPacketAppendsToDst(t *testing.T) {
	dst := []byte("prefix ")
	got := AppendPacket(dst, &appendVectors[1].out)
	if want := "prefix " + appendVectors[1].want; string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestTypeName(t *testing.T) {
	want := []string{"", "error", "credit", "keep-alive", "cancel", "handoff-start",
		"handoff-proceed", "close", "ping", "pong", "", ""}
	for i, w := range want {
		if got := TypeName(PacketType(i)); got != w {
			t.Errorf("TypeName(%d) = %q, want %q", i, got, w)
		}
	}
}

// Handler → server packets captured from condure 1.9.1 (reference.md §10), with
// the PUB address prefix "condure " removed.
var parseVectors = []struct {
	name string
	in   string
	want Packet
}{
	{
		name: "credit_grant",
		in:   "T68:4:from,2:h1,2:id,5:0-0-0,3:seq,1:0#4:type,6:credit,7:credits,4:8192#}",
		want: Packet{From: []byte("h1"), IDs: []IDSeq{{ID: []byte("0-0-0"), Seq: 0, HasSeq: true}},
			Type: TypeCredit, Credits: 8192},
	},
	{
		name: "response_head_with_first_body_part",
		in:   "T137:4:from,2:h1,2:id,5:0-0-0,3:seq,1:1#4:code,3:200#6:reason,2:OK,7:headers,34:30:12:Content-Type,10:text/plain,]]4:body,3:hi ,4:more,4:true!}",
		want: Packet{From: []byte("h1"), IDs: []IDSeq{{ID: []byte("0-0-0"), Seq: 1, HasSeq: true}},
			Code: 200, HasCode: true, Reason: []byte("OK"), Headers: testHeaders("Content-Type", "text/plain"),
			Body: []byte("hi "), More: true},
	},
	{
		name: "final_body_part",
		in:   "T50:4:from,2:h1,2:id,5:0-0-0,3:seq,1:2#4:body,5:there,}",
		want: Packet{From: []byte("h1"), IDs: []IDSeq{{ID: []byte("0-0-0"), Seq: 2, HasSeq: true}},
			Body: []byte("there")},
	},
	{
		name: "req_mode_response_without_from_or_seq",
		in:   `T116:2:id,5:0-0-2,4:code,3:200#6:reason,2:OK,7:headers,40:36:12:Content-Type,16:application/json,]]4:body,11:{"ok":true},}`,
		want: Packet{IDs: []IDSeq{{ID: []byte("0-0-2")}}, Code: 200, HasCode: true, Reason: []byte("OK"),
			Headers: testHeaders("Content-Type", "application/json"), Body: []byte(`{"ok":true}`)},
	},
	{
		name: "websocket_accept",
		in:   "T97:4:from,2:h1,2:id,5:0-0-4,3:seq,1:0#4:code,3:101#6:reason,19:Switching Protocols,7:credits,4:1024#}",
		want: Packet{From: []byte("h1"), IDs: []IDSeq{{ID: []byte("0-0-4"), Seq: 0, HasSeq: true}},
			Code: 101, HasCode: true, Reason: []byte("Switching Protocols"), Credits: 1024},
	},
	{
		name: "websocket_text_message",
		in:   "T73:4:from,2:h1,2:id,5:0-0-4,3:seq,1:1#12:content-type,4:text,4:body,5:hello,}",
		want: Packet{From: []byte("h1"), IDs: []IDSeq{{ID: []byte("0-0-4"), Seq: 1, HasSeq: true}},
			ContentType: []byte("text"), Body: []byte("hello")},
	},
	{
		name: "websocket_close",
		in:   "T64:4:from,2:h1,2:id,5:0-0-4,3:seq,1:2#4:type,5:close,4:code,4:1000#}",
		want: Packet{From: []byte("h1"), IDs: []IDSeq{{ID: []byte("0-0-4"), Seq: 2, HasSeq: true}},
			Type: TypeClose, Code: 1000, HasCode: true},
	},
}

// diffPacket describes how got differs from want in the exported fields, or
// returns "".
func diffPacket(got, want *Packet) string {
	var d []string
	eq := func(name string, a, b []byte) {
		if !bytes.Equal(a, b) {
			d = append(d, name+": got "+strconv.Quote(string(a))+", want "+strconv.Quote(string(b)))
		}
	}
	eq("From", got.From, want.From)
	if len(got.IDs) != len(want.IDs) {
		d = append(d, "IDs: got "+strconv.Itoa(len(got.IDs))+" entries, want "+strconv.Itoa(len(want.IDs)))
	} else {
		for i := range got.IDs {
			g, w := got.IDs[i], want.IDs[i]
			eq("IDs["+strconv.Itoa(i)+"].ID", g.ID, w.ID)
			if g.Seq != w.Seq || g.HasSeq != w.HasSeq {
				d = append(d, "IDs["+strconv.Itoa(i)+"] seq mismatch")
			}
		}
	}
	if got.Type != want.Type {
		d = append(d, "Type: got "+strconv.Itoa(int(got.Type))+", want "+strconv.Itoa(int(want.Type)))
	}
	if got.Code != want.Code || got.HasCode != want.HasCode {
		d = append(d, "Code mismatch")
	}
	eq("Reason", got.Reason, want.Reason)
	if len(got.Headers) != len(want.Headers) {
		d = append(d, "Headers: got "+strconv.Itoa(len(got.Headers))+", want "+strconv.Itoa(len(want.Headers)))
	} else {
		for i := range got.Headers {
			eq("Headers.Name", got.Headers[i].Name, want.Headers[i].Name)
			eq("Headers.Value", got.Headers[i].Value, want.Headers[i].Value)
		}
	}
	eq("Body", got.Body, want.Body)
	if got.More != want.More {
		d = append(d, "More mismatch")
	}
	if got.Credits != want.Credits {
		d = append(d, "Credits: got "+strconv.Itoa(got.Credits)+", want "+strconv.Itoa(want.Credits))
	}
	eq("ContentType", got.ContentType, want.ContentType)
	eq("Condition", got.Condition, want.Condition)
	return strings.Join(d, "; ")
}

func TestPacketParse(t *testing.T) {
	var p Packet
	for _, tt := range parseVectors {
		t.Run(tt.name, func(t *testing.T) {
			if err := p.Parse([]byte(tt.in)); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if d := diffPacket(&p, &tt.want); d != "" {
				t.Fatal(d)
			}
		})
	}
}

func TestPacketParseFields(t *testing.T) {
	id := tnStr("x")
	tests := []struct {
		name string
		in   string
		want Packet
	}{
		{"unknown_fields_and_null_ignored",
			tnMsg("id", id, "user-data", tnDict("a", tnInt(1)), "stream", tnBool(true), "nothing", "0:~", "f", "3:2.5^", "l", tnList("0:~")),
			Packet{IDs: []IDSeq{{ID: []byte("x")}}}},
		{"max_size_timeout_ignored",
			tnMsg("id", id, "max-size", tnInt(10), "max_size", tnStr("not checked"), "timeout", tnInt(-1)),
			Packet{IDs: []IDSeq{{ID: []byte("x")}}}},
		{"later_duplicate_wins",
			tnMsg("id", tnStr("a"), "body", tnStr("one"), "id", tnStr("b"), "body", tnStr("two"), "code", tnInt(1), "code", tnInt(2)),
			Packet{IDs: []IDSeq{{ID: []byte("b")}}, Body: []byte("two"), Code: 2, HasCode: true}},
		{"duplicate_headers_replaced_not_appended",
			tnMsg("id", id, "headers", tnList(tnList(tnStr("A"), tnStr("1")), tnList(tnStr("B"), tnStr("2"))), "headers", tnList(tnList(tnStr("C"), tnStr("3")))),
			Packet{IDs: []IDSeq{{ID: []byte("x")}}, Headers: testHeaders("C", "3")}},
		{"duplicate_id_list_replaced",
			tnMsg("id", tnList(tnDict("id", tnStr("a")), tnDict("id", tnStr("b"))), "id", tnList(tnDict("id", tnStr("c")))),
			Packet{IDs: []IDSeq{{ID: []byte("c")}}}},
		{"seq_before_id",
			tnMsg("seq", tnInt(5), "id", id),
			Packet{IDs: []IDSeq{{ID: []byte("x"), Seq: 5, HasSeq: true}}}},
		{"multi_id_with_seqs",
			tnMsg("id", tnList(tnDict("id", tnStr("a"), "seq", tnInt(1)), tnDict("seq", tnInt(2), "id", tnStr("b"))), "type", tnStr("keep-alive")),
			Packet{IDs: []IDSeq{{ID: []byte("a"), Seq: 1, HasSeq: true}, {ID: []byte("b"), Seq: 2, HasSeq: true}}, Type: TypeKeepAlive}},
		{"top_level_seq_applies_to_first_id_without_one",
			tnMsg("id", tnList(tnDict("id", tnStr("a")), tnDict("id", tnStr("b"))), "seq", tnInt(9)),
			Packet{IDs: []IDSeq{{ID: []byte("a"), Seq: 9, HasSeq: true}, {ID: []byte("b")}}}},
		{"top_level_seq_does_not_override_first_id_seq",
			tnMsg("seq", tnInt(9), "id", tnList(tnDict("id", tnStr("a"), "seq", tnInt(3)))),
			Packet{IDs: []IDSeq{{ID: []byte("a"), Seq: 3, HasSeq: true}}}},
		{"id_item_unknown_fields_ignored",
			tnMsg("id", tnList(tnDict("id", tnStr("a"), "x", "0:~"))),
			Packet{IDs: []IDSeq{{ID: []byte("a")}}}},
		{"empty_type_is_data",
			tnMsg("id", id, "type", tnStr("")),
			Packet{IDs: []IDSeq{{ID: []byte("x")}}, Type: TypeData}},
		{"unknown_type",
			tnMsg("id", id, "type", tnStr("bogus")),
			Packet{IDs: []IDSeq{{ID: []byte("x")}}, Type: TypeUnknown}},
		{"header_extra_elements_ignored",
			tnMsg("id", id, "headers", tnList(tnList(tnStr("A"), tnStr("1"), tnInt(3), "0:~"))),
			Packet{IDs: []IDSeq{{ID: []byte("x")}}, Headers: testHeaders("A", "1")}},
		{"header_value_may_be_any_bytes",
			tnMsg("id", id, "headers", tnList(tnList(tnStr("A"), tnStr("\xff\x00")))),
			Packet{IDs: []IDSeq{{ID: []byte("x")}}, Headers: testHeaders("A", "\xff\x00")}},
		{"body_and_content_type_may_be_any_bytes",
			tnMsg("id", id, "body", tnStr("\xff"), "content-type", tnStr("\xfe")),
			Packet{IDs: []IDSeq{{ID: []byte("x")}}, Body: []byte("\xff"), ContentType: []byte("\xfe")}},
		{"ext_multi_bool",
			tnMsg("id", id, "ext", tnDict("multi", tnBool(false), "other", tnInt(1))),
			Packet{IDs: []IDSeq{{ID: []byte("x")}}}},
		{"more_false",
			tnMsg("id", id, "more", tnBool(false)),
			Packet{IDs: []IDSeq{{ID: []byte("x")}}}},
		{"error_rejected",
			tnMsg("id", id, "type", tnStr("error"), "condition", tnStr("rejected"), "code", tnInt(403), "reason", tnStr("Forbidden"),
				"headers", tnList(), "body", tnStr("no")),
			Packet{IDs: []IDSeq{{ID: []byte("x")}}, Type: TypeError, Condition: []byte("rejected"), Code: 403, HasCode: true,
				Reason: []byte("Forbidden"), Body: []byte("no")}},
		{"empty_id_accepted",
			tnMsg("id", tnStr("")),
			Packet{IDs: []IDSeq{{ID: []byte("")}}}},
		{"bytes_after_top_level_value_ignored",
			tnMsg("id", id) + "garbage",
			Packet{IDs: []IDSeq{{ID: []byte("x")}}}},
		{"leading_zero_lengths",
			"T011:02:id,01:x,}",
			Packet{IDs: []IDSeq{{ID: []byte("x")}}}},
		{"max_ids", tnMsg("id", manyIDs(MaxIDs)), Packet{IDs: wantIDs(MaxIDs)}},
		{"max_headers", tnMsg("id", id, "headers", manyHeaders(MaxHeaders)),
			Packet{IDs: []IDSeq{{ID: []byte("x")}}, Headers: wantHeaders(MaxHeaders)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Packet
			if err := p.Parse([]byte(tt.in)); err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if d := diffPacket(&p, &tt.want); d != "" {
				t.Fatal(d)
			}
		})
	}
}

func TestPacketParseTypes(t *testing.T) {
	for _, name := range []string{"", "error", "credit", "keep-alive", "cancel", "handoff-start",
		"handoff-proceed", "close", "ping", "pong", "Close", "keepalive"} {
		var p Packet
		if err := p.Parse([]byte(tnMsg("id", tnStr("x"), "type", tnStr(name)))); err != nil {
			t.Fatalf("type %q: %v", name, err)
		}
		want := TypeUnknown
		for i := TypeData; i < TypeUnknown; i++ {
			if TypeName(i) == name {
				want = i
			}
		}
		if p.Type != want {
			t.Errorf("type %q parsed as %d, want %d", name, p.Type, want)
		}
	}
}

func manyIDs(n int) string {
	items := make([]string, n)
	for i := range items {
		items[i] = tnDict("id", tnStr(strconv.Itoa(i)), "seq", tnInt(int64(i)))
	}
	return tnList(items...)
}

func wantIDs(n int) []IDSeq {
	ids := make([]IDSeq, n)
	for i := range ids {
		ids[i] = IDSeq{ID: []byte(strconv.Itoa(i)), Seq: int64(i), HasSeq: true}
	}
	return ids
}

func manyHeaders(n int) string {
	items := make([]string, n)
	for i := range items {
		items[i] = tnList(tnStr("H"+strconv.Itoa(i)), tnStr(strconv.Itoa(i)))
	}
	return tnList(items...)
}

func wantHeaders(n int) []Header {
	h := make([]Header, n)
	for i := range h {
		h[i] = Header{Name: []byte("H" + strconv.Itoa(i)), Value: []byte(strconv.Itoa(i))}
	}
	return h
}

// Rejections from reference.md §3.6: the error text and the sentinel it wraps.
func TestPacketParseErrors(t *testing.T) {
	id := tnStr("x")
	tests := []struct {
		name     string
		in       string
		sentinel error
		text     string
	}{
		{"empty_message", "", ErrFormat, "unrecognized data format"},
		{"no_T_prefix", tnDict("id", id), ErrFormat, "unrecognized data format"},
		{"json", `{"id":"x"}`, ErrFormat, "unrecognized data format"},
		{"not_a_dict", "T" + tnList(tnStr("id")), ErrFormat, "unrecognized data format"},
		{"string_not_dict", "T" + tnStr("id"), ErrFormat, "unrecognized data format"},
		{"only_T", "T", ErrTnet, "unexpected eof"},
		{"truncated", tnMsg("id", id)[:8], ErrTnet, "unexpected eof"},
		{"bad_length", "T1x:}", ErrTnet, "invalid data"},
		{"unknown_type_byte", "T0:?", ErrTnet, "invalid data"},
		{"dangling_key", "T" + "5:2:id,}", ErrTnet, "unexpected eof"},
		{"inner_truncation", "T" + "8:2:id,1:x}", ErrTnet, "unexpected eof"},
		{"inner_unknown_type_byte", "T" + "9:2:id,1:x?}", ErrTnet, "invalid data"},
		{"non_string_key", "T" + "8:1:1#1:x,}", ErrTnet, "map key must be a utf-8 string"},
		{"non_utf8_key", tnMsg("\xff", id, "id", id), ErrTnet, "map key must be a utf-8 string"},
		{"non_utf8_key_in_ext", tnMsg("id", id, "ext", tnDict("\xff", tnInt(1))), ErrTnet, "map key must be a utf-8 string"},
		{"non_utf8_key_in_id_item", tnMsg("id", tnList(tnDict("\xff", tnInt(1), "id", id))), ErrTnet, "map key must be a utf-8 string"},
		{"missing_id", tnMsg("from", tnStr("h1")), ErrNoID, "missing id"},
		{"empty_id_list", tnMsg("id", tnList()), ErrNoID, "missing id"},
		{"id_item_without_id", tnMsg("id", tnList(tnDict("seq", tnInt(1)))), ErrNoID, "missing id"},
		{"id_int", tnMsg("id", tnInt(1)), ErrFieldType, "id must be of type map or string"},
		{"id_null", tnMsg("id", "0:~"), ErrFieldType, "id must be of type map or string"},
		{"id_dict", tnMsg("id", tnDict("id", id)), ErrFieldType, "id must be of type map or string"},
		{"id_item_string", tnMsg("id", tnList(id)), ErrFieldType, "id must be of type map or string"},
		{"id_item_id_int", tnMsg("id", tnList(tnDict("id", tnInt(1)))), ErrFieldType, "id must be of type map or string"},
		{"id_item_seq_string", tnMsg("id", tnList(tnDict("id", id, "seq", tnStr("1")))), ErrFieldType, "seq must be of type int"},
		{"id_item_seq_negative", tnMsg("id", tnList(tnDict("id", id, "seq", tnInt(-1)))), ErrFieldType, "seq must not be negative"},
		{"too_many_ids", tnMsg("id", manyIDs(MaxIDs+1)), ErrTooMany, "too many ids"},
		{"from_int", tnMsg("id", id, "from", tnInt(1)), ErrFieldType, "from must be of type string"},
		{"seq_string", tnMsg("id", id, "seq", tnStr("0")), ErrFieldType, "seq must be of type int"},
		{"seq_negative", tnMsg("id", id, "seq", tnInt(-1)), ErrFieldType, "seq must not be negative"},
		{"seq_overflow", tnMsg("id", id, "seq", "19:9999999999999999999#"), ErrTnet, "invalid data"},
		{"seq_float", tnMsg("id", id, "seq", "3:1.0^"), ErrFieldType, "seq must be of type int"},
		{"type_int", tnMsg("id", id, "type", tnInt(1)), ErrFieldType, "type must be of type string"},
		{"type_non_utf8", tnMsg("id", id, "type", tnStr("\xff")), ErrFieldType, "type must be a utf-8 string"},
		{"code_string", tnMsg("id", id, "code", tnStr("200")), ErrFieldType, "code must be of type int"},
		{"code_negative", tnMsg("id", id, "code", tnInt(-200)), ErrFieldType, "code must not be negative"},
		{"reason_int", tnMsg("id", id, "reason", tnInt(1)), ErrFieldType, "reason must be of type string"},
		{"reason_non_utf8", tnMsg("id", id, "reason", tnStr("O\xffK")), ErrFieldType, "reason must be a utf-8 string"},
		{"headers_dict", tnMsg("id", id, "headers", tnDict("A", tnStr("1"))), ErrFieldType, "headers must be of type list"},
		{"header_item_string", tnMsg("id", id, "headers", tnList(tnStr("A"))), ErrFieldType, "header item must be of type list"},
		{"header_item_one_element", tnMsg("id", id, "headers", tnList(tnList(tnStr("A")))), ErrFieldType, "header item must have size 2"},
		{"header_item_empty", tnMsg("id", id, "headers", tnList(tnList())), ErrFieldType, "header item must have size 2"},
		{"header_name_int", tnMsg("id", id, "headers", tnList(tnList(tnInt(1), tnStr("v")))), ErrFieldType, "header name must be of type string"},
		{"header_name_non_utf8", tnMsg("id", id, "headers", tnList(tnList(tnStr("\xff"), tnStr("v")))), ErrFieldType, "header name must be a utf-8 string"},
		{"header_value_null", tnMsg("id", id, "headers", tnList(tnList(tnStr("A"), "0:~"))), ErrFieldType, "header value must be of type string"},
		{"too_many_headers", tnMsg("id", id, "headers", manyHeaders(MaxHeaders+1)), ErrTooMany, "too many headers"},
		{"body_int", tnMsg("id", id, "body", tnInt(1)), ErrFieldType, "body must be of type string"},
		{"body_null", tnMsg("id", id, "body", "0:~"), ErrFieldType, "body must be of type string"},
		{"more_string", tnMsg("id", id, "more", tnStr("true")), ErrFieldType, "more must be of type bool"},
		{"more_bad_bool", tnMsg("id", id, "more", "3:yes!"), ErrTnet, "invalid data"},
		{"credits_string", tnMsg("id", id, "credits", tnStr("1")), ErrFieldType, "credits must be of type int"},
		{"credits_negative", tnMsg("id", id, "credits", tnInt(-5)), ErrFieldType, "credits must not be negative"},
		{"content_type_int", tnMsg("id", id, "content-type", tnInt(1)), ErrFieldType, "content-type must be of type string"},
		{"condition_int", tnMsg("id", id, "condition", tnInt(1)), ErrFieldType, "condition must be of type string"},
		{"condition_non_utf8", tnMsg("id", id, "condition", tnStr("\xc3")), ErrFieldType, "condition must be a utf-8 string"},
		{"ext_list", tnMsg("id", id, "ext", tnList()), ErrFieldType, "ext must be of type map"},
		{"ext_multi_string", tnMsg("id", id, "ext", tnDict("multi", tnStr("true"))), ErrFieldType, "multi must be of type bool"},
		{"ext_multi_bad_bool", tnMsg("id", id, "ext", tnDict("multi", "1:1!")), ErrTnet, "invalid data"},
		{"type_error_after_id", tnMsg("id", id, "seq", tnInt(0), "body", tnInt(1)), ErrFieldType, "body must be of type string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Packet
			err := p.Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("Parse(%q) succeeded", tt.in)
			}
			if !errors.Is(err, tt.sentinel) || err.Error() != tt.text {
				t.Fatalf("Parse(%q) = %q, want %q wrapping %q", tt.in, err, tt.text, tt.sentinel)
			}
		})
	}
}

func TestPacketParseReuseCarriesNothingOver(t *testing.T) {
	var p Packet
	full := tnMsg("from", tnStr("h1"), "id", tnList(tnDict("id", tnStr("a"), "seq", tnInt(1)), tnDict("id", tnStr("b"))),
		"type", tnStr("error"), "code", tnInt(400), "reason", tnStr("Bad"), "headers", tnList(tnList(tnStr("A"), tnStr("1"))),
		"body", tnStr("b"), "more", tnBool(true), "credits", tnInt(10), "content-type", tnStr("binary"), "condition", tnStr("c"))
	if err := p.Parse([]byte(full)); err != nil {
		t.Fatal(err)
	}
	if err := p.Parse([]byte(tnMsg("id", tnStr("z")))); err != nil {
		t.Fatal(err)
	}
	if d := diffPacket(&p, &Packet{IDs: []IDSeq{{ID: []byte("z")}}}); d != "" {
		t.Fatal(d)
	}
}

func TestPacketParseNoAllocs(t *testing.T) {
	var p Packet
	inputs := make([][]byte, 0, len(parseVectors)+3)
	for _, v := range parseVectors {
		inputs = append(inputs, []byte(v.in))
	}
	inputs = append(inputs,
		[]byte(tnMsg("from", tnStr("h1"), "id", manyIDs(MaxIDs), "type", tnStr("keep-alive"), "ext", tnDict("multi", tnBool(true)))),
		[]byte(tnMsg("id", tnStr("x"), "headers", manyHeaders(MaxHeaders))),
		[]byte(tnMsg("id", tnStr("x"), "reason", tnStr("\xff"))), // the error path too
	)
	for i, in := range inputs {
		if n := testing.AllocsPerRun(100, func() { _ = p.Parse(in) }); n != 0 {
			t.Errorf("input %d: Parse allocates %v times", i, n)
		}
	}
}

func TestAppendPacketNoAllocs(t *testing.T) {
	buf := make([]byte, 0, 1024)
	multi := Out{From: []byte("condure"), Type: TypeKeepAlive, Multi: wantIDs(MaxIDs)}
	big := make([]byte, 0, 16<<10)
	for i := range appendVectors {
		o := &appendVectors[i].out
		if n := testing.AllocsPerRun(100, func() { _ = AppendPacket(buf[:0], o) }); n != 0 {
			t.Errorf("%s: AppendPacket allocates %v times", appendVectors[i].name, n)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = AppendPacket(big[:0], &multi) }); n != 0 {
		t.Errorf("128-id keep-alive: AppendPacket allocates %v times", n)
	}
}

// randPacketBytes returns n random bytes; utf8 restricts them to printable ASCII
// plus a multi-byte rune so UTF-8 checks pass.
func randPacketBytes(r *rand.Rand, maxLen int, utf8 bool) []byte {
	n := r.IntN(maxLen + 1)
	b := make([]byte, 0, n+3)
	for len(b) < n {
		if utf8 {
			if r.IntN(10) == 0 {
				b = append(b, "é"...)
			} else {
				b = append(b, byte(' '+r.IntN(95)))
			}
		} else {
			b = append(b, byte(r.IntN(256)))
		}
	}
	return b
}

func randOut(r *rand.Rand) Out {
	o := Out{
		From:  randPacketBytes(r, 10, false),
		ID:    randPacketBytes(r, 10, false),
		Seq:   r.Int64N(1 << 40),
		NoSeq: r.IntN(3) == 0,
		Type:  PacketType(r.IntN(int(TypeUnknown))),
	}
	if r.IntN(3) == 0 {
		o.Multi = make([]IDSeq, 1+r.IntN(MaxIDs))
		for i := range o.Multi {
			o.Multi[i] = IDSeq{ID: randPacketBytes(r, 8, false), Seq: r.Int64N(1000), HasSeq: true}
		}
	}
	if r.IntN(2) == 0 {
		o.Headers = make([]Header, r.IntN(MaxHeaders+1))
		for i := range o.Headers {
			o.Headers[i] = Header{Name: randPacketBytes(r, 12, true), Value: randPacketBytes(r, 20, false)}
		}
	}
	o.Method = randPacketBytes(r, 6, true)
	o.URI = randPacketBytes(r, 30, false)
	o.ContentType = randPacketBytes(r, 6, false)
	o.Body = randPacketBytes(r, 200, false)
	o.Credits = r.IntN(3) * r.IntN(100000)
	o.More = r.IntN(2) == 0
	o.Stream = r.IntN(2) == 0
	o.PeerAddress = randPacketBytes(r, 15, true)
	o.PeerPort = r.IntN(65536)
	o.Code = r.IntN(5000)
	o.HasCode = r.IntN(2) == 0
	o.Condition = randPacketBytes(r, 10, true)
	return o
}

// expectedPacket is what Parse must return for AppendPacket(o): the fields
// both directions share, as §3.3 writes them.
func expectedPacket(o *Out) Packet {
	p := Packet{From: o.From, Type: o.Type}
	if o.Multi != nil {
		p.IDs = make([]IDSeq, len(o.Multi))
		for i, m := range o.Multi {
			p.IDs[i] = IDSeq{ID: m.ID, Seq: m.Seq, HasSeq: true}
		}
	} else {
		p.IDs = []IDSeq{{ID: o.ID, Seq: o.Seq, HasSeq: !o.NoSeq}}
		if o.NoSeq {
			p.IDs[0].Seq = 0
		}
	}
	p.Credits = o.Credits
	p.Body = o.Body
	if o.Type == TypeData {
		p.Headers = o.Headers
		p.ContentType = o.ContentType
		p.More = o.More
	} else {
		p.Condition = o.Condition
		p.Code, p.HasCode = o.Code, o.HasCode
		if !o.HasCode {
			p.Code = 0
		}
	}
	return p
}

func TestAppendThenParseRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var p Packet
	var buf []byte
	for i := range 2000 {
		o := randOut(r)
		buf = AppendPacket(buf[:0], &o)
		if err := p.Parse(buf); err != nil {
			t.Fatalf("case %d: Parse(AppendPacket) = %v\n%q", i, err, buf)
		}
		want := expectedPacket(&o)
		if d := diffPacket(&p, &want); d != "" {
			t.Fatalf("case %d: %s\n%q", i, d, buf)
		}
	}
}

func TestParseIDsIgnoresOtherFields(t *testing.T) {
	var p Packet
	// `more` has the wrong type: Parse refuses the packet, ParseIDs only
	// needs the ids (the worker will log the error).
	msg := []byte("T48:2:id,5:1-2-3,4:more,3:yes,4:from,2:h1,3:seq,1:0#}")
	if err := p.Parse(msg); err == nil {
		t.Fatal("Parse accepted a string more")
	}
	if err := p.ParseIDs(msg); err != nil || len(p.IDs) != 1 || string(p.IDs[0].ID) != "1-2-3" {
		t.Fatalf("ParseIDs: %v %v", err, p.IDs)
	}
	multi := AppendPacket(nil, &Out{Multi: []IDSeq{{ID: []byte("0-1-1")}, {ID: []byte("1-4-2")}}, Type: TypeKeepAlive})
	if err := p.ParseIDs(multi); err != nil || len(p.IDs) != 2 || string(p.IDs[1].ID) != "1-4-2" {
		t.Fatalf("ParseIDs multi: %v %v", err, p.IDs)
	}
	if err := p.ParseIDs([]byte("T11:4:type,1:x,}")); err != ErrNoID {
		t.Fatalf("no id: %v", err)
	}
}
