package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseDefaults(t *testing.T) {
	c, err := Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		LogLevel:         2,
		ID:               "condure",
		Workers:          2,
		ReqMaxConn:       100,
		StreamMaxConn:    10000,
		BufferSize:       8192,
		BodyBufferSize:   100000,
		MessagesMax:      100,
		ReqTimeout:       30,
		StreamTimeout:    1800,
		Listens:          []Listen{{Addr: "0.0.0.0:8000", Mode: ModeStream}},
		ZClientReq:       []string{"ipc://client"},
		ZClientStream:    []string{"ipc://client"},
		TLSIdentitiesDir: ".",
		DrainTimeout:     30,
		HTTP2:            true,
		HTTP2MaxStreams:  100,
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("defaults:\n got %+v\nwant %+v", c, want)
	}
}

// TestParseFlags sets every flag, in both the "--flag value" and the
// "--flag=value" form, and checks the field it lands in.
func TestParseFlags(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		check func(*Config) bool
	}{
		{"log-level", []string{"--log-level", "4"}, func(c *Config) bool { return c.LogLevel == 4 }},
		{"log-level_equals", []string{"--log-level=0"}, func(c *Config) bool { return c.LogLevel == 0 }},
		{"id", []string{"--id", "abc"}, func(c *Config) bool { return c.ID == "abc" }},
		{"id_equals", []string{"--id=x=y"}, func(c *Config) bool { return c.ID == "x=y" }},
		{"id_lone_dash", []string{"--id", "-"}, func(c *Config) bool { return c.ID == "-" }},
		{"workers", []string{"--workers", "8"}, func(c *Config) bool { return c.Workers == 8 }},
		{"workers_equals", []string{"--workers=1024", "--req-maxconn=1024"}, func(c *Config) bool { return c.Workers == 1024 }},
		{"workers_plus_sign", []string{"--workers", "+3"}, func(c *Config) bool { return c.Workers == 3 }},
		{"req-maxconn", []string{"--req-maxconn", "7"}, func(c *Config) bool { return c.ReqMaxConn == 7 }},
		{"req-maxconn_equals", []string{"--req-maxconn=5000000", "--stream-maxconn=5000000"}, func(c *Config) bool {
			return c.ReqMaxConn == 5000000 && c.StreamMaxConn == 5000000
		}},
		{"stream-maxconn", []string{"--stream-maxconn", "9"}, func(c *Config) bool { return c.StreamMaxConn == 9 }},
		{"buffer-size", []string{"--buffer-size", "4096"}, func(c *Config) bool { return c.BufferSize == 4096 }},
		{"buffer-size_equals", []string{"--buffer-size=16384"}, func(c *Config) bool { return c.BufferSize == 16384 }},
		{"body-buffer-size", []string{"--body-buffer-size", "5"}, func(c *Config) bool { return c.BodyBufferSize == 5 }},
		{"body-buffer-size_equals", []string{"--body-buffer-size=6"}, func(c *Config) bool { return c.BodyBufferSize == 6 }},
		{"messages-max", []string{"--messages-max", "3"}, func(c *Config) bool { return c.MessagesMax == 3 }},
		{"messages-max_equals", []string{"--messages-max=4"}, func(c *Config) bool { return c.MessagesMax == 4 }},
		{"req-timeout", []string{"--req-timeout", "11"}, func(c *Config) bool { return c.ReqTimeout == 11 }},
		{"req-timeout_equals", []string{"--req-timeout=12"}, func(c *Config) bool { return c.ReqTimeout == 12 }},
		{"stream-timeout", []string{"--stream-timeout", "13"}, func(c *Config) bool { return c.StreamTimeout == 13 }},
		{"stream-timeout_equals", []string{"--stream-timeout=14"}, func(c *Config) bool { return c.StreamTimeout == 14 }},
		{"drain-timeout", []string{"--drain-timeout", "5"}, func(c *Config) bool { return c.DrainTimeout == 5 }},
		{"ipc-file-mode_octal", []string{"--ipc-file-mode", "777"}, func(c *Config) bool { return c.IPCFileMode == 0o777 }},
		{"ipc-file-mode_equals_leading_zero", []string{"--ipc-file-mode=0660"}, func(c *Config) bool { return c.IPCFileMode == 0o660 }},
		{"ipc-file-mode_max", []string{"--ipc-file-mode=7777"}, func(c *Config) bool { return c.IPCFileMode == 0o7777 }},
		{"ipc-file-mode_zero_is_unset", []string{"--ipc-file-mode", "0"}, func(c *Config) bool { return c.IPCFileMode == 0 }},
		{"tls-identities-dir", []string{"--tls-identities-dir", "/etc/certs"}, func(c *Config) bool { return c.TLSIdentitiesDir == "/etc/certs" }},
		{"tls-identities-dir_equals", []string{"--tls-identities-dir=certs"}, func(c *Config) bool { return c.TLSIdentitiesDir == "certs" }},
		{"zclient-connect", []string{"--zclient-connect"}, func(c *Config) bool { return c.ZClientConnect }},
		{"compression", []string{"--compression"}, func(c *Config) bool { return c.Compression && !c.ZClientConnect }},
		{"listen_replaces_default", []string{"--listen", "127.0.0.1:9000"}, func(c *Config) bool {
			return reflect.DeepEqual(c.Listens, []Listen{{Addr: "127.0.0.1:9000"}})
		}},
		{"listen_repeated_accumulates", []string{"--listen", "1", "--listen=2,req", "--listen", "3"}, func(c *Config) bool {
			return reflect.DeepEqual(c.Listens, []Listen{
				{Addr: "0.0.0.0:1"}, {Addr: "0.0.0.0:2", Mode: ModeReq}, {Addr: "0.0.0.0:3"},
			})
		}},
		{"zclient-req_replaces_default", []string{"--zclient-req", "tcp://127.0.0.1:5000"}, func(c *Config) bool {
			return reflect.DeepEqual(c.ZClientReq, []string{"tcp://127.0.0.1:5000"}) &&
				reflect.DeepEqual(c.ZClientStream, []string{"ipc://client"})
		}},
		{"zclient-req_repeated", []string{"--zclient-req=ipc://a", "--zclient-req", "ipc://b"}, func(c *Config) bool {
			return reflect.DeepEqual(c.ZClientReq, []string{"ipc://a", "ipc://b"})
		}},
		{"zclient-stream_replaces_default", []string{"--zclient-stream", "tcp://127.0.0.1:5000"}, func(c *Config) bool {
			return reflect.DeepEqual(c.ZClientStream, []string{"tcp://127.0.0.1:5000"}) &&
				reflect.DeepEqual(c.ZClientReq, []string{"ipc://client"})
		}},
		{"zclient-stream_repeated", []string{"--zclient-stream=ipc:///tmp/a", "--zclient-stream", "ipc:///tmp/b"}, func(c *Config) bool {
			return reflect.DeepEqual(c.ZClientStream, []string{"ipc:///tmp/a", "ipc:///tmp/b"})
		}},
		{"double_dash_alone", []string{"--workers", "3", "--"}, func(c *Config) bool { return c.Workers == 3 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(tt.args)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.args, err)
			}
			if !tt.check(c) {
				t.Fatalf("Parse(%q) = %+v", tt.args, c)
			}
		})
	}
}

// TestParseStops covers the flags that end parsing without validation.
func TestParseStops(t *testing.T) {
	tests := []struct {
		name                string
		args                []string
		help, version, size bool
	}{
		{"help", []string{"--help"}, true, false, false},
		{"help_short", []string{"-h"}, true, false, false},
		{"version", []string{"--version"}, false, true, false},
		{"version_short", []string{"-V"}, false, true, false},
		{"short_cluster_first_wins", []string{"-hV"}, true, false, false},
		{"help_after_bad_value", []string{"--workers", "x", "--help"}, true, false, false},
		{"help_before_unknown_flag", []string{"--help", "--bogus"}, true, false, false},
		{"help_before_repeated_flag", []string{"--help", "--workers=1", "--workers=2"}, true, false, false},
		{"help_after_repeated_flag", []string{"--workers=1", "--workers=2", "--help"}, true, false, false},
		{"version_before_unknown_flag", []string{"--version", "--bogus"}, false, true, false},
		{"sizes_skips_validation", []string{"--sizes", "--workers", "x", "--listen", "foo", "--buffer-size", "y"}, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(tt.args)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.args, err)
			}
			if c.ShowHelp != tt.help || c.ShowVersion != tt.version || c.Sizes != tt.size {
				t.Fatalf("Parse(%q): help=%v version=%v sizes=%v", tt.args, c.ShowHelp, c.ShowVersion, c.Sizes)
			}
			if c.Workers != 2 {
				t.Fatalf("Parse(%q): workers %d, want the default", tt.args, c.Workers)
			}
		})
	}
}

// TestParseErrors checks every message condure logs for a bad flag value,
// word for word.
func TestParseErrors(t *testing.T) {
	const (
		digit    = "invalid digit found in string"
		empty    = "cannot parse integer from empty string"
		overflow = "number too large to fit in target type"
	)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"log-level_digit", []string{"--log-level", "x"}, "failed to parse log-level: " + digit},
		{"log-level_negative", []string{"--log-level=-1"}, "failed to parse log-level: " + digit},
		{"log-level_empty", []string{"--log-level="}, "failed to parse log-level: " + empty},
		{"log-level_overflow", []string{"--log-level", "99999999999999999999"}, "failed to parse log-level: " + overflow},
		{"workers_digit", []string{"--workers", "x"}, "failed to parse workers: " + digit},
		{"workers_empty", []string{"--workers", ""}, "failed to parse workers: " + empty},
		{"workers_lone_plus", []string{"--workers", "+"}, "failed to parse workers: " + digit},
		{"workers_space", []string{"--workers", " 2"}, "failed to parse workers: " + digit},
		{"workers_overflow", []string{"--workers", "99999999999999999999999"}, "failed to parse workers: " + overflow},
		{"workers_too_large", []string{"--workers", "1025"}, "failed to parse workers: value too large"},
		{"workers_zero", []string{"--workers", "0"}, "failed to parse workers: value must be at least 1"},
		{"req-maxconn_digit", []string{"--req-maxconn", "1k"}, "failed to parse req-maxconn: " + digit},
		{"stream-maxconn_digit", []string{"--stream-maxconn", "1.5"}, "failed to parse stream-maxconn: " + digit},
		{"buffer-size_digit", []string{"--buffer-size", "8k"}, "failed to parse buffer-size: " + digit},
		{"body-buffer-size_empty", []string{"--body-buffer-size="}, "failed to parse body-buffer-size: " + empty},
		{"messages-max_digit", []string{"--messages-max", "0x10"}, "failed to parse messages-max: " + digit},
		{"req-timeout_digit", []string{"--req-timeout", "30s"}, "failed to parse req-timeout: " + digit},
		{"stream-timeout_overflow", []string{"--stream-timeout", "18446744073709551616"}, "failed to parse stream-timeout: " + overflow},
		{"ipc-file-mode_not_octal", []string{"--ipc-file-mode", "778"}, "failed to parse ipc-file-mode: " + digit},
		{"ipc-file-mode_empty", []string{"--ipc-file-mode="}, "failed to parse ipc-file-mode: " + empty},
		{"ipc-file-mode_overflow", []string{"--ipc-file-mode", "77777777777777"}, "failed to parse ipc-file-mode: " + overflow},
		{"ipc-file-mode_above_7777", []string{"--ipc-file-mode", "17777"}, "failed to parse ipc-file-mode: value too large"},
		{"id_empty", []string{"--id="}, "failed to parse id: value cannot be empty or contain a space"},
		{"id_space", []string{"--id", "a b"}, "failed to parse id: value cannot be empty or contain a space"},
		{"total_maxconn", []string{"--req-maxconn", "5000000", "--stream-maxconn", "5000001"}, "total maxconn is too large"},
		{"total_maxconn_huge", []string{"--req-maxconn", "9223372036854775807", "--stream-maxconn", "1"}, "total maxconn is too large"},
		{"req_maxconn_below_workers", []string{"--req-maxconn", "1"}, "req maxconn must be >= workers"},
		{"stream_maxconn_below_workers", []string{"--workers", "4", "--stream-maxconn", "3"}, "stream maxconn must be >= workers"},
		{"listen_bad_socket_addr", []string{"--listen", "foo:80"}, "failed to parse listen: invalid socket address syntax"},
		{"listen_bad_port", []string{"--listen", "1.2.3.4:99999"}, "failed to parse listen: invalid port 99999"},
		{"listen_bad_param", []string{"--listen", "80,bogus"}, "failed to parse listen: invalid param: bogus"},
		{"listen_second_bad", []string{"--listen", "80", "--listen=81,bogus"}, "failed to parse listen: invalid param: bogus"},
		{"zclient-stream_scheme", []string{"--zclient-stream", "inproc://x"}, "base spec must be ipc or tcp"},
		{"zclient-stream_no_port", []string{"--zclient-stream", "tcp://127.0.0.1"}, "error parsing tcp port in base spec: " + digit},
		{"zclient-stream_second_bad", []string{"--zclient-stream", "ipc://a", "--zclient-stream", "tcp://h:"}, "error parsing tcp port in base spec: " + empty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(tt.args)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want error %q", tt.args, c, tt.want)
			}
			if err.Error() != tt.want {
				t.Fatalf("Parse(%q) error %q, want %q", tt.args, err, tt.want)
			}
			if errors.Is(err, ErrUsage) {
				t.Fatalf("Parse(%q) error %q wraps ErrUsage", tt.args, err)
			}
		})
	}
}

// TestParseCheckOrder gives two bad flags and expects the one condure
// reports first.
func TestParseCheckOrder(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"numeric_before_id", []string{"--id=", "--workers", "x"}, "failed to parse workers"},
		{"log-level_before_workers", []string{"--workers", "x", "--log-level", "x"}, "failed to parse log-level"},
		{"stream-timeout_before_ipc-file-mode", []string{"--ipc-file-mode", "9", "--stream-timeout", "x"}, "failed to parse stream-timeout"},
		{"ipc-file-mode_before_id", []string{"--id=", "--ipc-file-mode", "9"}, "failed to parse ipc-file-mode"},
		{"id_before_workers_too_large", []string{"--workers", "2000", "--id", "a b"}, "failed to parse id"},
		{"workers_too_large_before_total", []string{"--workers", "2000", "--req-maxconn", "20000000"}, "failed to parse workers: value too large"},
		{"total_before_listen", []string{"--listen", "foo:80", "--req-maxconn", "20000000"}, "total maxconn is too large"},
		{"listen_before_maxconn_below_workers", []string{"--listen", "foo:80", "--req-maxconn", "1"}, "failed to parse listen"},
		{"listens_in_order", []string{"--listen", "80,bogus", "--listen", "foo:80"}, "failed to parse listen: invalid param"},
		{"req_before_stream_maxconn", []string{"--workers", "5", "--req-maxconn", "1", "--stream-maxconn", "1"}, "req maxconn must be >= workers"},
		{"maxconn_before_zclient-stream", []string{"--zclient-stream", "x://", "--req-maxconn", "1"}, "req maxconn must be >= workers"},
		{"listen_params_before_port", []string{"--listen", "99999,bogus"}, "failed to parse listen: invalid param"},
		{"usage_before_values", []string{"--workers", "x", "--bogus"}, "Found argument '--bogus'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.args)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("Parse(%q) error %v, want one starting %q", tt.args, err, tt.want)
			}
		})
	}
}

// TestParseUsageErrors covers what clap refuses before condure sees a value:
// all wrap ErrUsage, with clap's wording.
func TestParseUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown_flag", []string{"--bogus"}, "Found argument '--bogus' which wasn't expected, or isn't valid in this context"},
		{"unknown_flag_equals", []string{"--bogus=1"}, "Found argument '--bogus=1' which wasn't expected, or isn't valid in this context"},
		{"no_prefix_matching", []string{"--list", "80"}, "Found argument '--list' which wasn't expected, or isn't valid in this context"},
		{"positional", []string{"extra"}, "Found argument 'extra' which wasn't expected, or isn't valid in this context"},
		{"lone_dash", []string{"-"}, "Found argument '-' which wasn't expected, or isn't valid in this context"},
		{"after_double_dash", []string{"--", "--workers"}, "Found argument '--workers' which wasn't expected, or isn't valid in this context"},
		{"unknown_short", []string{"-x"}, "Found argument '-x' which wasn't expected, or isn't valid in this context"},
		{"unknown_short_cluster", []string{"-xh"}, "Found argument '-x' which wasn't expected, or isn't valid in this context"},
		{"missing_value_at_end", []string{"--workers"}, "The argument '--workers <N>' requires a value but none was supplied"},
		{"missing_value_before_flag", []string{"--id", "--workers", "2"}, "The argument '--id <ID>' requires a value but none was supplied"},
		{"value_looks_like_flag", []string{"--workers", "-1"}, "The argument '--workers <N>' requires a value but none was supplied"},
		{"missing_listen_value", []string{"--listen"}, "The argument '--listen <[addr:]port[,params...]>' requires a value but none was supplied"},
		{"switch_with_value", []string{"--zclient-connect=x"}, "The value 'x' was provided to '--zclient-connect' but it wasn't expecting any more values"},
		{"help_with_value", []string{"--help=x"}, "The value 'x' was provided to '--help' but it wasn't expecting any more values"},
		{"repeated_single_flag", []string{"--workers", "3", "--workers", "4"}, "The argument '--workers <N>' was provided more than once, but cannot be used multiple times"},
		{"repeated_switch", []string{"--zclient-connect", "--zclient-connect"}, "The argument '--zclient-connect' was provided more than once, but cannot be used multiple times"},
		{"repeated_then_unknown", []string{"--id=a", "--id=b", "--bogus"}, "Found argument '--bogus' which wasn't expected, or isn't valid in this context"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.args)
			if !errors.Is(err, ErrUsage) {
				t.Fatalf("Parse(%q) error %v, want one wrapping ErrUsage", tt.args, err)
			}
			if err.Error() != tt.want {
				t.Fatalf("Parse(%q) error %q, want %q", tt.args, err, tt.want)
			}
		})
	}
}

func TestParseHTTP2(t *testing.T) {
	c, err := Parse([]string{"--http2", "--http2-max-streams", "7"})
	if err != nil || !c.HTTP2 || c.HTTP2MaxStreams != 7 {
		t.Fatalf("got %+v, %v", c, err)
	}
	if c, err := Parse([]string{"--no-http2"}); err != nil || c.HTTP2 {
		t.Fatalf("--no-http2: got %+v, %v", c, err)
	}
	for _, bad := range []string{"0", "65536"} {
		if _, err := Parse([]string{"--http2-max-streams", bad}); err == nil || !strings.Contains(err.Error(), "http2-max-streams") {
			t.Errorf("--http2-max-streams %s: %v", bad, err)
		}
	}
}
