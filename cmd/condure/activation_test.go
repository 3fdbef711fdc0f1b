package main

import (
	"net/netip"
	"os"
	"testing"

	"github.com/condure-go/condure/config"
)

func TestInheritedMatches(t *testing.T) {
	tcp := func(s string) inherited { return inherited{addr: netip.MustParseAddrPort(s)} }
	tests := []struct {
		name string
		in   inherited
		l    config.Listen
		want bool
	}{
		{"exact", tcp("127.0.0.1:8000"), config.Listen{Addr: "127.0.0.1:8000"}, true},
		{"other_port", tcp("127.0.0.1:8001"), config.Listen{Addr: "127.0.0.1:8000"}, false},
		{"other_ip", tcp("127.0.0.2:8000"), config.Listen{Addr: "127.0.0.1:8000"}, false},
		{"wildcard_v4_takes_v6_wildcard", tcp("[::]:8000"), config.Listen{Addr: "0.0.0.0:8000"}, true},
		{"wildcard_does_not_take_specific", tcp("127.0.0.1:8000"), config.Listen{Addr: "0.0.0.0:8000"}, false},
		{"v6", tcp("[::1]:8000"), config.Listen{Addr: "[::1]:8000"}, true},
		{"unix_path", inherited{unix: true, path: "/run/a.sock"}, config.Listen{Addr: "/run/a.sock", Local: true}, true},
		{"unix_other_path", inherited{unix: true, path: "/run/b.sock"}, config.Listen{Addr: "/run/a.sock", Local: true}, false},
		{"unix_not_tcp", inherited{unix: true, path: "8000"}, config.Listen{Addr: "0.0.0.0:8000"}, false},
		{"tcp_not_unix", tcp("0.0.0.0:8000"), config.Listen{Addr: "8000", Local: true}, false},
		{"fdname_wins", inherited{name: "web", addr: netip.MustParseAddrPort("10.0.0.1:1")}, config.Listen{Addr: "127.0.0.1:8000", FdName: "web"}, true},
		{"fdname_only", inherited{name: "api", addr: netip.MustParseAddrPort("127.0.0.1:8000")}, config.Listen{Addr: "127.0.0.1:8000", FdName: "web"}, false},
	}
	for _, tt := range tests {
		if got := tt.in.matches(tt.l); got != tt.want {
			t.Errorf("%s: matches = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestInheritedSocketsIgnoresOtherPid(t *testing.T) {
	t.Setenv("LISTEN_PID", "1")
	t.Setenv("LISTEN_FDS", "1")
	got, err := inheritedSockets()
	if err != nil || got != nil {
		t.Fatalf("got %v, %v; want nothing for another pid", got, err)
	}
	for _, v := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
		if _, ok := os.LookupEnv(v); ok {
			t.Errorf("%s still set", v)
		}
	}
}
