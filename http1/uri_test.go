package http1

import (
	"strings"
	"testing"
)

func TestAppendURI(t *testing.T) {
	tests := []struct {
		name, scheme, host, target, want string
	}{
		{"origin_form", "http", "example.com:8080", "/a/b?c=d", "http://example.com:8080/a/b?c=d"},
		{"no_host", "http", "", "/", "http://localhost/"},
		{"non_utf8_host", "http", "ex\xffample", "/", "http://localhost/"},
		{"websocket_tls", "wss", "h", "/ws", "wss://h/ws"},
		{"absolute_form", "http", "x", "http://other/x?y", "http://other/x?y"},              // §12 #9
		{"absolute_form_https", "http", "x", "https://other:8443/x", "http://other:8443/x"}, // listener's scheme kept
		{"absolute_form_scheme_case", "https", "x", "HTTP://Other/P", "https://Other/P"},
		{"absolute_form_no_path", "http", "x", "http://other", "http://other/"},
		{"absolute_form_query_only", "http", "x", "http://other?q=1", "http://other/?q=1"},
		{"absolute_form_no_host_header", "http", "", "http://other/p", "http://other/p"},
		{"absolute_form_empty_authority", "http", "h", "http:///p", "http://h/p"},
		{"absolute_form_empty_all", "http", "", "http://", "http://localhost/"},
		{"asterisk", "http", "h", "*", "http://h*"},
		{"authority_form", "http", "h", "example.com:443", "http://hexample.com:443"},
		{"other_scheme_not_absolute", "http", "h", "ftp://x/y", "http://hftp://x/y"},
		{"max_length", "http", "h", "/" + strings.Repeat("a", MaxURI-len("http://h/")), "http://h/" + strings.Repeat("a", MaxURI-len("http://h/"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var host []byte
			if tt.host != "" {
				host = []byte(tt.host)
			}
			got, err := AppendURI([]byte("pre"), tt.scheme, host, []byte(tt.target))
			if err != nil || string(got) != "pre"+tt.want {
				t.Fatalf("AppendURI = %q, %v; want %q", got, err, "pre"+tt.want)
			}
		})
	}
}

func TestAppendURITooLong(t *testing.T) {
	tests := []struct {
		name, host, target string
	}{
		{"long_target", "h", "/" + strings.Repeat("a", MaxURI-len("http://h/")+1)},
		{"long_host", strings.Repeat("h", MaxURI), "/"},
		{"absolute_form_slash_counted", "h", "http://" + strings.Repeat("a", MaxURI-len("http://"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AppendURI([]byte("pre"), "http", []byte(tt.host), []byte(tt.target))
			if err != ErrURITooLong || string(got) != "pre" {
				t.Fatalf("AppendURI = %q, %v; want dst unchanged, ErrURITooLong", got, err)
			}
		})
	}
}
