package config

import "testing"

func TestStreamSpecs(t *testing.T) {
	tests := []struct {
		name, base         string
		out, outStream, in string
	}{
		{"ipc_relative", "ipc://client", "ipc://client-out", "ipc://client-out-stream", "ipc://client-in"},
		{"ipc_absolute", "ipc:///tmp/zh/c", "ipc:///tmp/zh/c-out", "ipc:///tmp/zh/c-out-stream", "ipc:///tmp/zh/c-in"},
		{"ipc_empty_path", "ipc://", "ipc://-out", "ipc://-out-stream", "ipc://-in"},
		{"tcp", "tcp://127.0.0.1:5000", "tcp://127.0.0.1:5000", "tcp://127.0.0.1:5001", "tcp://127.0.0.1:5002"},
		{"tcp_wildcard", "tcp://*:5560", "tcp://*:5560", "tcp://*:5561", "tcp://*:5562"},
		{"tcp_ipv6_last_colon", "tcp://[::1]:7000", "tcp://[::1]:7000", "tcp://[::1]:7001", "tcp://[::1]:7002"},
		{"tcp_port_normalized", "tcp://h:+05", "tcp://h:5", "tcp://h:6", "tcp://h:7"},
		{"tcp_highest_port", "tcp://h:65533", "tcp://h:65533", "tcp://h:65534", "tcp://h:65535"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, outStream, in, err := StreamSpecs(tt.base)
			if err != nil {
				t.Fatalf("StreamSpecs(%q): %v", tt.base, err)
			}
			if out != tt.out || outStream != tt.outStream || in != tt.in {
				t.Fatalf("StreamSpecs(%q) = %q, %q, %q; want %q, %q, %q",
					tt.base, out, outStream, in, tt.out, tt.outStream, tt.in)
			}
		})
	}
}

func TestStreamSpecsErrors(t *testing.T) {
	tests := []struct{ name, base, want string }{
		{"tcp_no_port", "tcp://127.0.0.1", "error parsing tcp port in base spec: invalid digit found in string"},
		{"tcp_empty_port", "tcp://127.0.0.1:", "error parsing tcp port in base spec: cannot parse integer from empty string"},
		{"tcp_port_overflow", "tcp://127.0.0.1:99999", "error parsing tcp port in base spec: number too large to fit in target type"},
		{"tcp_port_plus_two_overflow", "tcp://127.0.0.1:65534", "error parsing tcp port in base spec: value too large"},
		{"tcp_bad_port", "tcp://h:1x", "error parsing tcp port in base spec: invalid digit found in string"},
		{"inproc", "inproc://x", "base spec must be ipc or tcp"},
		{"scheme_case_sensitive", "IPC://x", "base spec must be ipc or tcp"},
		{"no_scheme", "client", "base spec must be ipc or tcp"},
		{"empty", "", "base spec must be ipc or tcp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := StreamSpecs(tt.base)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("StreamSpecs(%q) error %v, want %q", tt.base, err, tt.want)
			}
		})
	}
}
