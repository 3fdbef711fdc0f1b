package http2

import (
	"errors"
	"testing"
)

// TestSettingValid: each out-of-range value gets the error code RFC 9113
// §6.5.2, RFC 8441 §3 and RFC 9218 §2.1 demand, as a connection error.
func TestSettingValid(t *testing.T) {
	cases := []struct {
		s    Setting
		want kind
	}{
		{Setting{SettingHeaderTableSize, 0}, ok},
		{Setting{SettingHeaderTableSize, 0xffffffff}, ok},
		{Setting{SettingEnablePush, 0}, ok},
		{Setting{SettingEnablePush, 1}, ok},
		{Setting{SettingEnablePush, 2}, connErr(ErrProtocol)},
		{Setting{SettingMaxConcurrentStreams, 0}, ok},
		{Setting{SettingInitialWindowSize, 0}, ok},
		{Setting{SettingInitialWindowSize, MaxWindowSize}, ok},
		{Setting{SettingInitialWindowSize, MaxWindowSize + 1}, connErr(ErrFlowControl)},
		{Setting{SettingMaxFrameSize, DefaultMaxFrameSize - 1}, connErr(ErrProtocol)},
		{Setting{SettingMaxFrameSize, DefaultMaxFrameSize}, ok},
		{Setting{SettingMaxFrameSize, MaxFrameSizeLimit}, ok},
		{Setting{SettingMaxFrameSize, MaxFrameSizeLimit + 1}, connErr(ErrProtocol)},
		{Setting{SettingMaxHeaderListSize, 0}, ok},
		{Setting{SettingEnableConnectProtocol, 0}, ok},
		{Setting{SettingEnableConnectProtocol, 1}, ok},
		{Setting{SettingEnableConnectProtocol, 2}, connErr(ErrProtocol)},
		{Setting{SettingNoRFC7540Priorities, 1}, ok},
		{Setting{SettingNoRFC7540Priorities, 7}, connErr(ErrProtocol)},
		{Setting{0x7, 0xffffffff}, ok}, // unknown ids are ignored
		{Setting{0xffff, 5}, ok},
	}
	for _, c := range cases {
		checkKind(t, c.s.ID.String(), c.s.Valid(), c.want, 0)
	}
}

func TestParseSettings(t *testing.T) {
	in := []Setting{
		{SettingHeaderTableSize, 1024}, {SettingEnablePush, 0}, {SettingMaxConcurrentStreams, 100},
		{SettingInitialWindowSize, 1 << 20}, {SettingMaxFrameSize, 1 << 15}, {SettingMaxHeaderListSize, 8192},
		{SettingEnableConnectProtocol, 1}, {0x42, 9},
	}
	b := AppendSettings(nil, in...)
	h := ParseFrameHeader(b)
	if err := CheckFrame(h, DefaultMaxFrameSize); err != nil || h.Type != FrameSettings || h.Flags != 0 {
		t.Fatalf("%+v %v", h, err)
	}
	var got []Setting
	s := DefaultSettings()
	if err := ParseSettings(b[FrameHeaderLen:], func(x Setting) error {
		got = append(got, x)
		s.Apply(x)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(in) {
		t.Fatalf("got %v", got)
	}
	for i := range in {
		if got[i] != in[i] {
			t.Errorf("%d: %+v want %+v", i, got[i], in[i])
		}
	}
	want := Settings{HeaderTableSize: 1024, MaxConcurrentStreams: 100, InitialWindowSize: 1 << 20,
		MaxFrameSize: 1 << 15, MaxHeaderListSize: 8192, EnableConnectProtocol: true}
	if s != want {
		t.Errorf("applied %+v want %+v", s, want)
	}

	// A bad value stops the walk with its error; fn saw only what came before.
	bad := AppendSettings(nil, Setting{SettingMaxConcurrentStreams, 1}, Setting{SettingInitialWindowSize, 1 << 31}, Setting{SettingEnablePush, 1})
	n := 0
	err := ParseSettings(bad[FrameHeaderLen:], func(Setting) error { n++; return nil })
	checkKind(t, "bad window", err, connErr(ErrFlowControl), 0)
	if n != 1 {
		t.Errorf("fn called %d times before the bad value", n)
	}
	// fn's error comes back unchanged.
	stop := errors.New("stop")
	if err := ParseSettings(bad[FrameHeaderLen:], func(Setting) error { return stop }); err != stop {
		t.Errorf("got %v", err)
	}
	err = ParseSettings(make([]byte, 7), func(Setting) error { return nil })
	checkKind(t, "size", err, connErr(ErrFrameSize), 0)
	if SettingEnableConnectProtocol.String() != "ENABLE_CONNECT_PROTOCOL" || SettingID(7).String() != "UNKNOWN" {
		t.Error("SettingID.String")
	}
}

func TestWindow(t *testing.T) {
	w := Window(DefaultInitialWindowSize)
	if !w.Take(65535) || w != 0 || w.Avail() != 0 {
		t.Fatalf("take all: %d", w)
	}
	if w.Take(1) || w != 0 {
		t.Fatalf("overdraw accepted: %d", w)
	}
	if !w.Take(0) {
		t.Fatal("take 0")
	}
	if !w.Add(MaxWindowSize) || w != MaxWindowSize {
		t.Fatalf("add to max: %d", w)
	}
	// §6.9.1: a window above 2^31-1 is a FLOW_CONTROL_ERROR.
	if w.Add(1) || w != MaxWindowSize {
		t.Fatalf("overflow accepted: %d", w)
	}
	if w.Add(0xffffffff) || w != MaxWindowSize {
		t.Fatalf("huge add accepted: %d", w)
	}
	// §6.9.2: lowering SETTINGS_INITIAL_WINDOW_SIZE can make a window negative.
	w = 100
	if !w.Adjust(65535, 0) || w != 100-65535 || w.Avail() != 0 {
		t.Fatalf("adjust down: %d", w)
	}
	if w.Take(1) {
		t.Fatal("take from a negative window")
	}
	if !w.Add(65535) || w != 100 {
		t.Fatalf("refill: %d", w)
	}
	if !w.Adjust(0, 65535) || w != 65635 {
		t.Fatalf("adjust up: %d", w)
	}
	// Raising it so far that a window passes 2^31-1 is refused (a
	// connection FLOW_CONTROL_ERROR, §6.9.2).
	w = 10
	if w.Adjust(0, MaxWindowSize) || w != 10 {
		t.Fatalf("adjust overflow accepted: %d", w)
	}
	w = -MaxWindowSize
	if w.Adjust(MaxWindowSize, 0) || w != -MaxWindowSize {
		t.Fatalf("adjust underflow accepted: %d", w)
	}
	if !w.Take(0) || w.Take(1) {
		t.Fatal("negative window take")
	}
}
