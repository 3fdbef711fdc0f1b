package config

import (
	"reflect"
	"testing"
)

func TestParseListen(t *testing.T) {
	tests := []struct {
		name string
		spec string
		want Listen
	}{
		{"port_only", "8000", Listen{Addr: "0.0.0.0:8000"}},
		{"addr_port", "127.0.0.1:9000", Listen{Addr: "127.0.0.1:9000"}},
		{"port_zero", "127.0.0.1:0", Listen{Addr: "127.0.0.1:0"}},
		{"port_max", "127.0.0.1:65535", Listen{Addr: "127.0.0.1:65535"}},
		{"port_leading_zero_normalized", "1.2.3.4:080", Listen{Addr: "1.2.3.4:80"}},
		{"ipv6", "[::1]:8000", Listen{Addr: "[::1]:8000"}},
		{"ipv6_any", "[::]:80", Listen{Addr: "[::]:80"}},
		{"ipv6_normalized", "[0:0::1]:5", Listen{Addr: "[::1]:5"}},
		{"ipv4_mapped_ipv6", "[::ffff:1.2.3.4]:80", Listen{Addr: "[::ffff:1.2.3.4]:80"}},
		{"stream", "80,stream", Listen{Addr: "0.0.0.0:80"}},
		{"req", "80,req", Listen{Addr: "0.0.0.0:80", Mode: ModeReq}},
		{"later_mode_wins_stream", "80,req,stream", Listen{Addr: "0.0.0.0:80", Mode: ModeStream}},
		{"later_mode_wins_req", "80,stream,req", Listen{Addr: "0.0.0.0:80", Mode: ModeReq}},
		{"tls", "443,tls", Listen{Addr: "0.0.0.0:443", TLS: true}},
		{"tls_default_cert", "443,tls,default-cert=x", Listen{Addr: "0.0.0.0:443", TLS: true, DefaultCert: "x"}},
		{"default_cert_without_value", "443,tls,default-cert", Listen{Addr: "0.0.0.0:443", TLS: true}},
		{"default_cert_keeps_later_equals", "443,default-cert=a=b", Listen{Addr: "0.0.0.0:443", DefaultCert: "a=b"}},
		{"switch_param_value_ignored", "80,tls=no,req=x", Listen{Addr: "0.0.0.0:80", TLS: true, Mode: ModeReq}},
		{"req_tls", "127.0.0.1:8443,req,tls,default-cert=site", Listen{Addr: "127.0.0.1:8443", Mode: ModeReq, TLS: true, DefaultCert: "site"}},
		{"local_path", "/run/app.sock,local", Listen{Addr: "/run/app.sock", Local: true}},
		{"fdname", "8000,fdname=web", Listen{Addr: "0.0.0.0:8000", FdName: "web"}},
		{"local_path_with_colon_verbatim", "/tmp/a:b,local", Listen{Addr: "/tmp/a:b", Local: true}},
		{"local_port_like_path_verbatim", "x:99999,local", Listen{Addr: "x:99999", Local: true}},
		{"local_relative", "80,local", Listen{Addr: "80", Local: true}},
		{"local_req", "/run/app.sock,req,local", Listen{Addr: "/run/app.sock", Local: true, Mode: ModeReq}},
		{"local_mode_user_group", "/run/a.sock,local,mode=660,user=www,group=web", Listen{Addr: "/run/a.sock", Local: true, FileMode: 0o660, User: "www", Group: "web"}},
		{"local_mode_leading_zero", "/run/a.sock,local,mode=0600", Listen{Addr: "/run/a.sock", Local: true, FileMode: 0o600}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseListen(tt.spec)
			if err != nil {
				t.Fatalf("parseListen(%q): %v", tt.spec, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("parseListen(%q) = %+v, want %+v", tt.spec, got, tt.want)
			}
		})
	}
}

// TestParseListenErrors: the messages are condure 1.9.1's for the same input.
func TestParseListenErrors(t *testing.T) {
	const badAddr = "failed to parse listen: invalid socket address syntax"
	tests := []struct {
		name string
		spec string
		want string
	}{
		{"hostname", "foo:80", badAddr},
		{"localhost", "localhost:80", badAddr},
		{"empty_host", ":80", badAddr},
		{"ipv6_unbracketed", "::1:8000", badAddr},
		{"ipv6_no_port", "::1", badAddr},
		{"ipv4_bracketed", "[1.2.3.4]:80", badAddr},
		{"ipv6_zone", "[fe80::1%eth0]:80", badAddr},
		{"short_ipv4", "1.2.3:80", badAddr},
		{"ipv4_leading_zeros", "127.000.0.1:80", badAddr},
		{"port_plus_sign", "+80", badAddr},
		{"addr_port_plus_sign", "1.2.3.4:+80", badAddr},
		{"port_too_large", "1.2.3.4:99999", "failed to parse listen: invalid port 99999"},
		{"port_hex", "0x50", "failed to parse listen: invalid port 0x50"},
		{"port_leading_space", " 80", "failed to parse listen: invalid port  80"},
		{"port_empty", "", "failed to parse listen: invalid port "},
		{"port_empty_with_param", ",req", "failed to parse listen: invalid port "},
		{"ipv6_bracket_no_port", "[::1]", "failed to parse listen: invalid port 1]"},
		{"path_without_local", "/run/app.sock", "failed to parse listen: invalid port /run/app.sock"},
		{"bad_param", "80,bogus", "failed to parse listen: invalid param: bogus"},
		{"param_case_sensitive", "80,TLS", "failed to parse listen: invalid param: TLS"},
		{"param_prefix", "80,default-certx=1", "failed to parse listen: invalid param: default-certx=1"},
		{"empty_param", "80,", "failed to parse listen: invalid param: "},
		{"trailing_comma", "80,tls,", "failed to parse listen: invalid param: "},
		{"param_checked_before_port", "99999,bogus", "failed to parse listen: invalid param: bogus"},
		{"mode_not_octal", "/a.sock,local,mode=778", "failed to parse mode: invalid digit found in string"},
		{"mode_empty", "/a.sock,local,mode=", "failed to parse mode: cannot parse integer from empty string"},
		{"mode_too_large", "/a.sock,local,mode=10000", "failed to parse mode: value too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseListen(tt.spec)
			if err == nil {
				t.Fatalf("parseListen(%q) = %+v, want error %q", tt.spec, got, tt.want)
			}
			if err.Error() != tt.want {
				t.Fatalf("parseListen(%q) error %q, want %q", tt.spec, err, tt.want)
			}
		})
	}
}
