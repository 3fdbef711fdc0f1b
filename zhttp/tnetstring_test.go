package zhttp

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"testing"
)

func TestParseTnet(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		kind    TnetKind
		payload string
		rest    string
		err     string // "" for success
	}{
		{"string", "5:hello,", TnetString, "hello", "", ""},
		{"empty_string", "0:,", TnetString, "", "", ""},
		{"binary_string", "3:\x00\xff:,", TnetString, "\x00\xff:", "", ""},
		{"int", "2:42#", TnetInt, "42", "", ""},
		{"negative_int", "3:-42#", TnetInt, "-42", "", ""},
		{"float", "3:2.5^", TnetFloat, "2.5", "", ""},
		{"bool", "4:true!", TnetBool, "true", "", ""},
		{"null", "0:~", TnetNull, "", "", ""},
		{"list_not_descended", "12:3:foo,3:bar,]", TnetList, "3:foo,3:bar,", "", ""},
		{"dict_not_descended", "12:3:foo,3:bar,}", TnetDict, "3:foo,3:bar,", "", ""},
		{"leading_zeros", "005:hello,", TnetString, "hello", "", ""},
		{"rest_returned", "1:a,1:b,", TnetString, "a", "1:b,", ""},
		{"trailing_garbage_kept", "1:a,xyz", TnetString, "a", "xyz", ""},
		{"empty_input", "", 0, "", "", "unexpected eof"},
		{"digits_without_colon", "12", 0, "", "", "unexpected eof"},
		{"payload_truncated", "5:hel", 0, "", "", "unexpected eof"},
		{"type_byte_missing", "5:hello", 0, "", "", "unexpected eof"},
		{"huge_length", "99999999999999999999999999:x,", 0, "", "", "unexpected eof"},
		{"empty_length", ":x,", 0, "", "", "invalid data"},
		{"non_digit_length", "1a:x,", 0, "", "", "invalid data"},
		{"space_in_length", " 1:x,", 0, "", "", "invalid data"},
		{"sign_in_length", "-1:x,", 0, "", "", "invalid data"},
		{"garbage_without_colon", "abc", 0, "", "", "invalid data"},
		{"unknown_type_byte", "1:x?", 0, "", "", "invalid data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, rest, err := ParseTnet([]byte(tt.in))
			if tt.err != "" {
				if err == nil || err.Error() != tt.err || !errors.Is(err, ErrTnet) {
					t.Fatalf("err = %v, want %q wrapping ErrTnet", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if v.Kind != tt.kind || string(v.Payload) != tt.payload || string(rest) != tt.rest {
				t.Fatalf("got (%q, %q, rest %q), want (%q, %q, rest %q)",
					string(v.Kind), v.Payload, rest, string(tt.kind), tt.payload, tt.rest)
			}
		})
	}
}

func TestParseTnetPayloadIsCapped(t *testing.T) {
	in := []byte("1:a,1:b,")
	v, _, err := ParseTnet(in)
	if err != nil {
		t.Fatal(err)
	}
	_ = append(v.Payload, 'X')
	if string(in) != "1:a,1:b," {
		t.Fatalf("appending to a payload view overwrote the input: %q", in)
	}
}

func TestTnetValueInt(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    int64
		ok      bool
	}{
		{"zero", "0", 0, true},
		{"positive", "8192", 8192, true},
		{"negative", "-42", -42, true},
		{"plus_sign", "+7", 7, true},
		{"leading_zeros", "007", 7, true},
		{"max", "9223372036854775807", math.MaxInt64, true},
		{"min", "-9223372036854775808", math.MinInt64, true},
		{"overflow", "9223372036854775808", 0, false},
		{"underflow", "-9223372036854775809", 0, false},
		{"far_overflow", "123456789012345678901234567890", 0, false},
		{"empty", "", 0, false},
		{"sign_only", "-", 0, false},
		{"float", "2.5", 0, false},
		{"space", " 1", 0, false},
		{"hex", "0x10", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := TnetValue{Kind: TnetInt, Payload: []byte(tt.payload)}.Int()
			if !tt.ok {
				if err == nil || !errors.Is(err, ErrTnet) {
					t.Fatalf("Int(%q) = %d, %v; want an ErrTnet error", tt.payload, n, err)
				}
				return
			}
			if err != nil || n != tt.want {
				t.Fatalf("Int(%q) = %d, %v; want %d", tt.payload, n, err, tt.want)
			}
		})
	}
	t.Run("wrong_kind", func(t *testing.T) {
		if _, err := (TnetValue{Kind: TnetString, Payload: []byte("1")}).Int(); err == nil {
			t.Fatal("Int on a string value succeeded")
		}
	})
}

func TestTnetValueBool(t *testing.T) {
	for _, tt := range []struct {
		payload string
		want    bool
		ok      bool
	}{
		{"true", true, true},
		{"false", false, true},
		{"True", false, false},
		{"1", false, false},
		{"", false, false},
		{"truex", false, false},
	} {
		b, err := TnetValue{Kind: TnetBool, Payload: []byte(tt.payload)}.Bool()
		if tt.ok != (err == nil) || b != tt.want {
			t.Errorf("Bool(%q) = %v, %v; want %v ok=%v", tt.payload, b, err, tt.want, tt.ok)
		}
	}
	if _, err := (TnetValue{Kind: TnetString, Payload: []byte("true")}).Bool(); err == nil {
		t.Error("Bool on a string value succeeded")
	}
}

func TestAppendTnetScalars(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"string", AppendTnetString(nil, []byte("hello")), "5:hello,"},
		{"empty_string", AppendTnetString(nil, nil), "0:,"},
		{"int", AppendTnetInt(nil, 42), "2:42#"},
		{"zero", AppendTnetInt(nil, 0), "1:0#"},
		{"negative_int", AppendTnetInt(nil, -42), "3:-42#"},
		{"min_int", AppendTnetInt(nil, math.MinInt64), "20:-9223372036854775808#"},
		{"true", AppendTnetBool(nil, true), "4:true!"},
		{"false", AppendTnetBool(nil, false), "5:false!"},
		{"appends_after_prefix", AppendTnetInt([]byte("x"), 1), "x1:1#"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if string(tt.got) != tt.want {
				t.Fatalf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

// The example from reference.md §1.1: [1, -2, 2.5, true, null, "x", {"k":"v"}].
func TestContainerNestedSpecExample(t *testing.T) {
	dst, list := BeginContainer([]byte("T"))
	dst = AppendTnetInt(dst, 1)
	dst = AppendTnetInt(dst, -2)
	dst = append(dst, "3:2.5^"...)
	dst = AppendTnetBool(dst, true)
	dst = append(dst, "0:~"...)
	dst = AppendTnetString(dst, []byte("x"))
	var dict int
	dst, dict = BeginContainer(dst)
	dst = AppendTnetString(dst, []byte("k"))
	dst = AppendTnetString(dst, []byte("v"))
	dst = EndContainer(dst, dict, TnetDict)
	dst = EndContainer(dst, list, TnetList)
	const want = `T40:1:1#2:-2#3:2.5^4:true!0:~1:x,8:1:k,1:v,}]`
	if string(dst) != want {
		t.Fatalf("got %q, want %q", dst, want)
	}
}

func TestContainerEmpty(t *testing.T) {
	dst, m := BeginContainer(nil)
	dst = EndContainer(dst, m, TnetDict)
	if string(dst) != "0:}" {
		t.Fatalf("got %q", dst)
	}
}

// Payloads of 100000 bytes or more need a longer prefix than BeginContainer
// reserves; EndContainer must move the payload right.
func TestContainerLargePayload(t *testing.T) {
	for _, size := range []int{99990, 99995, 100000, 1234567} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			big := bytes.Repeat([]byte{'a'}, size)
			dst, outer := BeginContainer([]byte("T"))
			var inner int
			dst, inner = BeginContainer(dst)
			dst = AppendTnetString(dst, big)
			dst = EndContainer(dst, inner, TnetList)
			dst = EndContainer(dst, outer, TnetList)

			str := strconv.Itoa(size) + ":" + string(big) + ","
			in := strconv.Itoa(len(str)) + ":" + str + "]"
			want := "T" + strconv.Itoa(len(in)) + ":" + in + "]"
			if string(dst) != want {
				t.Fatalf("got %d bytes %.40q…, want %d bytes %.40q…", len(dst), dst, len(want), want)
			}
		})
	}
}

func TestTnetNoAllocs(t *testing.T) {
	in := []byte("12:3:foo,3:bar,]")
	if n := testing.AllocsPerRun(100, func() {
		v, _, _ := ParseTnet(in)
		_, _ = v.Int()
		_, _ = v.Bool()
	}); n != 0 {
		t.Errorf("ParseTnet allocates %v times", n)
	}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() {
		dst, m := BeginContainer(buf[:0])
		dst = AppendTnetString(dst, []byte("hello"))
		dst = AppendTnetInt(dst, -12345)
		dst = AppendTnetBool(dst, false)
		_ = EndContainer(dst, m, TnetList)
	}); n != 0 {
		t.Errorf("tnet writer allocates %v times", n)
	}
}
