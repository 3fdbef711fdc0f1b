package http1

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestParseRequestTargetAndHost is the table of request-targets and Host
// fields refused with 400 (RFC 9112 §3.2, RFC 9110 §7.2). condure 1.9.1
// accepts all of them; the first ones are from issue #13, with the uri it
// hands the handler.
func TestParseRequestTargetAndHost(t *testing.T) {
	checkParseErrors(t, 400, []parseErrorCase{
		// condure: uri "http://good.com@evil.internal/admin".
		{"target_userinfo_glued_to_host", "GET @evil.internal/admin HTTP/1.1\r\nHost: good.com\r\n\r\n", ErrBadTarget},
		// condure: uri "http://good.com.evil.com/x".
		{"target_extends_host", "GET .evil.com/x HTTP/1.1\r\nHost: good.com\r\n\r\n", ErrBadTarget},
		// condure: uri "http://good.com/admin?/x".
		{"host_with_path", "GET /x HTTP/1.1\r\nHost: good.com/admin?\r\n\r\n", ErrBadHost},
		// condure: the first Host wins.
		{"two_hosts", "GET /x HTTP/1.1\r\nHost: a.com\r\nHost: b.com\r\n\r\n", ErrBadHost},
		{"two_equal_hosts", "GET /x HTTP/1.1\r\nHost: a.com\r\nhost: a.com\r\n\r\n", ErrBadHost},
		{"two_hosts_one_empty", "GET /x HTTP/1.1\r\nHost:\r\nHost: a.com\r\n\r\n", ErrBadHost},
		{"two_hosts_http10", "GET /x HTTP/1.0\r\nHost: a.com\r\nHost: b.com\r\n\r\n", ErrBadHost},
		{"two_hosts_absolute_form", "GET http://a.com/ HTTP/1.1\r\nHost: a.com\r\nHost: a.com\r\n\r\n", ErrBadHost},
		// condure: uri "http://localhost/x".
		{"no_host_http11", "GET /x HTTP/1.1\r\n\r\n", ErrBadHost},
		{"no_host_http11_absolute_form", "GET http://a.com/x HTTP/1.1\r\n\r\n", ErrBadHost},
		// condure: uri "http:///x".
		{"empty_host_http11", "GET /x HTTP/1.1\r\nHost:\r\n\r\n", ErrBadHost},
		{"blank_host_http11", "GET /x HTTP/1.1\r\nHost:  \t\r\n\r\n", ErrBadHost},
		{"empty_host_options_asterisk", "OPTIONS * HTTP/1.1\r\nHost:\r\n\r\n", ErrBadHost},
		{"host_userinfo", "GET /x HTTP/1.1\r\nHost: user@a.com\r\n\r\n", ErrBadHost},
		{"host_userinfo_http10", "GET /x HTTP/1.0\r\nHost: user:pw@a.com\r\n\r\n", ErrBadHost},
		{"host_invalid_absolute_form", "GET http://a.com/ HTTP/1.1\r\nHost: user@a.com\r\n\r\n", ErrBadHost},
		{"host_port_out_of_range", "GET /x HTTP/1.1\r\nHost: a.com:65536\r\n\r\n", ErrBadHost},
		{"host_port_huge", "GET /x HTTP/1.1\r\nHost: a.com:99999999999999999999999\r\n\r\n", ErrBadHost},
		{"host_port_only", "GET /x HTTP/1.1\r\nHost: :80\r\n\r\n", ErrBadHost},
		{"host_port_not_numeric", "GET /x HTTP/1.1\r\nHost: a.com:http\r\n\r\n", ErrBadHost},
		{"host_two_ports", "GET /x HTTP/1.1\r\nHost: a.com:80:80\r\n\r\n", ErrBadHost},
		{"host_space", "GET /x HTTP/1.1\r\nHost: a com\r\n\r\n", ErrBadHost},
		{"host_query", "GET /x HTTP/1.1\r\nHost: a.com?x\r\n\r\n", ErrBadHost},
		{"host_fragment", "GET /x HTTP/1.1\r\nHost: a.com#x\r\n\r\n", ErrBadHost},
		{"host_backslash", "GET /x HTTP/1.1\r\nHost: a.com\\evil\r\n\r\n", ErrBadHost},
		{"host_obs_text", "GET /x HTTP/1.1\r\nHost: caf\xc3\xa9.com\r\n\r\n", ErrBadHost},
		{"host_bad_pct", "GET /x HTTP/1.1\r\nHost: a%zz.com\r\n\r\n", ErrBadHost},
		{"host_short_pct", "GET /x HTTP/1.1\r\nHost: a%4\r\n\r\n", ErrBadHost},
		{"host_ipv6_unbracketed", "GET /x HTTP/1.1\r\nHost: ::1\r\n\r\n", ErrBadHost},
		{"host_ipv6_unclosed", "GET /x HTTP/1.1\r\nHost: [::1\r\n\r\n", ErrBadHost},
		{"host_ipv6_junk_after", "GET /x HTTP/1.1\r\nHost: [::1]x\r\n\r\n", ErrBadHost},
		{"host_ipv6_bad_port", "GET /x HTTP/1.1\r\nHost: [::1]:70000\r\n\r\n", ErrBadHost},
		{"host_ipv6_zone", "GET /x HTTP/1.1\r\nHost: [fe80::1%25eth0]\r\n\r\n", ErrBadHost},
		{"host_ipv6_invalid", "GET /x HTTP/1.1\r\nHost: [1:2:3:4:5:6:7:8:9]\r\n\r\n", ErrBadHost},
		{"host_empty_brackets", "GET /x HTTP/1.1\r\nHost: []\r\n\r\n", ErrBadHost},
		// condure: uri "http://a.com*".
		{"asterisk_not_options", "GET * HTTP/1.1\r\nHost: a.com\r\n\r\n", ErrBadTarget},
		{"asterisk_lower_case_options", "options * HTTP/1.1\r\nHost: a.com\r\n\r\n", ErrBadTarget},
		{"asterisk_with_more", "OPTIONS *x HTTP/1.1\r\nHost: a.com\r\n\r\n", ErrBadTarget},
		{"authority_form", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", ErrBadTarget},
		{"other_scheme", "GET ftp://x/y HTTP/1.1\r\nHost: h\r\n\r\n", ErrBadTarget},
		{"ws_scheme", "GET ws://x/y HTTP/1.1\r\nHost: h\r\n\r\n", ErrBadTarget},
		{"relative_path", "GET x/y HTTP/1.1\r\nHost: h\r\n\r\n", ErrBadTarget},
		{"query_only", "GET ?x HTTP/1.1\r\nHost: h\r\n\r\n", ErrBadTarget},
		{"backslash_path", "GET \\evil.com/x HTTP/1.1\r\nHost: h\r\n\r\n", ErrBadTarget},
		{"absolute_form_empty_authority", "GET http:///p HTTP/1.1\r\nHost: h\r\n\r\n", ErrBadTarget},
		{"absolute_form_nothing", "GET http:// HTTP/1.1\r\nHost: h\r\n\r\n", ErrBadTarget},
		{"absolute_form_userinfo", "GET http://good.com@evil.com/x HTTP/1.1\r\nHost: good.com\r\n\r\n", ErrBadTarget},
		{"absolute_form_port_out_of_range", "GET http://a.com:65536/ HTTP/1.1\r\nHost: a.com\r\n\r\n", ErrBadTarget},
		{"absolute_form_bad_host_char", "GET http://a\"b/ HTTP/1.1\r\nHost: h\r\n\r\n", ErrBadTarget},
	})
}

// TestParseRequestTargetEarlyError checks that a bad target or Host is
// reported as soon as its line is complete.
func TestParseRequestTargetEarlyError(t *testing.T) {
	for in, want := range map[string]error{
		"GET x HTTP/1.1\r\n":                       ErrBadTarget,
		"GET / HTTP/1.1\r\nHost: a@b\r\n":          ErrBadHost,
		"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n": ErrBadHost,
	} {
		var req Request
		if n, err := ParseRequest([]byte(in), &req, 8192); n != 0 || err != want {
			t.Errorf("%q: ParseRequest = %d, %v; want 0, %v", in, n, err, want)
		}
	}
}

func TestValidAuthority(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"a", true},
		{"example.com", true},
		{"EXAMPLE.com:8080", true},
		{"a:0", true},
		{"a:65535", true},
		{"a:000080", true},
		{"127.0.0.1", true},
		{"127.0.0.1:80", true},
		{"999.1.1.1", true}, // a reg-name, not an IPv4address: still a valid host
		{"xn--caf-dma.example", true},
		{"a-b_c~d!$&'()*+,;=", true},
		{"%41%4a%4A", true},
		{"[::]", true},
		{"[::1]", true},
		{"[::1]:443", true},
		{"[1:2:3:4:5:6:7:8]", true},
		{"[1::8]", true},
		{"[1:2:3:4:5:6:7::]", true},
		{"[::2:3:4:5:6:7:8]", true},
		{"[ABCD:ef01::]", true},
		{"[::ffff:192.0.2.1]", true},
		{"[1:2:3:4:5:6:1.2.3.4]", true},
		{"[64:ff9b::255.255.255.255]", true},
		{"", false},
		{":80", false},
		{"a:65536", false},
		{"a:-1", false},
		{"a:+1", false},
		{"a:1:2", false},
		{"u@a", false},
		{"u:p@a", false},
		{"a/b", false},
		{"a?", false},
		{"a#", false},
		{"a b", false},
		{"a\tb", false},
		{"a\"b", false},
		{"a<b>", false},
		{"a%", false},
		{"a%1", false},
		{"a%1g", false},
		{"caf\xc3\xa9", false},
		{"[", false},
		{"[]", false},
		{"[::1", false},
		{"[::1]]", false},
		{"[::1]80", false},
		{"::1", false},
		{"[:]", false},
		{"[:::]", false},
		{"[1:::2]", false},
		{"[1::2::3]", false},
		{"[1:2:3:4:5:6:7:8:9]", false},
		{"[1:2:3:4:5:6:7]", false},
		{"[1:2:3:4:5:6:7::8]", false},
		{"[1:2:3:4:5:6:7:8::]", false},
		{"[12345::]", false},
		{"[1:]", false},
		{"[:1]", false},
		{"[1::2:]", false},
		{"[g::]", false},
		{"[::1.2.3]", false},
		{"[::1.2.3.4.5]", false},
		{"[::1.2.3.256]", false},
		{"[::1.2.3.04]", false},
		{"[::1.2.3.4:5]", false},
		{"[1.2.3.4]", false},
		{"[1:2:3:4:5:6:7:1.2.3.4]", false},
		{"[fe80::1%25eth0]", false},
		{"[fe80::1%eth0]", false},
		{"[v.a]", false},
		{"[v1.]", false},
		{"[v1a]", false},
		{"[vg.a]", false},
		{"[v1.a/b]", false},
		{"[v1.a]x", false},
		{"[v1.a]:99999", false},
		// Valid per RFC 3986 (a too strict validator refuses them).
		{"a:", true},
		{"[::1]:", true},
		{"[v1.fe80::a+en1]", true},
		{"[V1F.a:b]:80", true},
		{"example.com.", true},
		{"my_service.internal", true},
	}
	for _, tt := range tests {
		if got := validAuthority([]byte(tt.in)); got != tt.want {
			t.Errorf("validAuthority(%q) = %v, want %v", tt.in, got, tt.want)
		}
		if got := refValidAuthority(tt.in); got != tt.want {
			t.Errorf("refValidAuthority(%q) = %v, want %v (the reference is wrong)", tt.in, got, tt.want)
		}
	}
}

// refAuthority is RFC 3986 §3.2 host [ ":" port ] as a regular expression,
// without userinfo; what is inside brackets is IPvFuture or left to
// netip. It is the independent reference for validAuthority.
var refAuthority = regexp.MustCompile(`^(?:\[([^\]]*)\]|((?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+))(?::([0-9]*))?$`)

var refIPvFuture = regexp.MustCompile(`^[vV][0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+$`)

func refValidAuthority(s string) bool {
	m := refAuthority.FindStringSubmatch(s)
	if m == nil {
		return false
	}
	if strings.HasPrefix(s, "[") && !refIPvFuture.MatchString(m[1]) {
		a, err := netip.ParseAddr(m[1])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return false
		}
	}
	if m[3] != "" {
		p, err := strconv.ParseUint(m[3], 10, 64)
		if err != nil || p > maxPort {
			return false
		}
	}
	return true
}
