package config

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrUsage is wrapped by every error that clap would report as a usage error
// (unknown argument, missing value, value given to a switch, repeated
// single-valued flag). The caller prints "error: <err>" and Usage() to
// stderr and exits 2; every other Parse error is logged at ERR and exits 1.
var ErrUsage = errors.New("usage error")

// usageError carries clap's wording of a usage error.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }
func (e *usageError) Unwrap() error { return ErrUsage }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// argKind says how a flag takes its value.
type argKind uint8

const (
	argSwitch   argKind = iota // no value: --zclient-connect
	argSingle                  // one value, flag given at most once
	argMultiple                // one value per occurrence, repeatable
)

// flagSpec describes one command-line flag; the table below drives both
// the parser and Usage.
type flagSpec struct {
	long    string // without the leading "--"
	short   byte   // 0 if none
	kind    argKind
	value   string // value name shown in usage and clap-style errors
	help    string // lines separated by '\n'
	deflt   string // shown as [default: …]; "" for none
	exitNow bool   // --help, --version: stop parsing when seen
}

// flags lists every flag condure-go accepts, sorted by long name as
// `condure --help` sorts them.
var flags = []flagSpec{
	{long: "body-buffer-size", kind: argSingle, value: "N", help: "Body buffer size for connections in req mode", deflt: "100000"},
	{long: "buffer-size", kind: argSingle, value: "N", help: "Connection buffer size (two buffers per connection)", deflt: "8192"},
	{long: "compression", kind: argSwitch, help: "Allow compression to be used"},
	{long: "drain-timeout", kind: argSingle, value: "N", help: "Seconds a drain (SIGQUIT) lets responses and WebSocket sessions finish\n(condure-go addition)", deflt: "30"},
	{long: "help", short: 'h', kind: argSwitch, help: "Print help information", exitNow: true},
	{long: "http2", kind: argSwitch, help: "Serve HTTP/2 (the default): prior knowledge (h2c) on plain ports, ALPN h2\non tls ports (condure-go addition)"},
	{long: "http2-max-streams", kind: argSingle, value: "N", help: "HTTP/2 streams a client may have open at once per connection\n(SETTINGS_MAX_CONCURRENT_STREAMS; condure-go addition)", deflt: "100"},
	{long: "id", kind: argSingle, value: "ID", help: "Instance ID", deflt: "condure"},
	{long: "ipc-file-mode", kind: argSingle, value: "octal", help: "Permissions for ZeroMQ IPC binds, in octal (e.g. 770)"},
	{long: "listen", kind: argMultiple, value: "[addr:]port[,params...]", help: "Port to listen on (repeatable). Params: stream or req (the later wins), tls,\n" +
		"default-cert=NAME, local (the first part is then a unix socket path),\n" +
		"fdname=NAME (systemd socket activation), and for local: mode=OCTAL,\nuser=NAME, group=NAME", deflt: "0.0.0.0:8000,stream"},
	{long: "log-level", kind: argSingle, value: "N", help: "Log level", deflt: "2"},
	{long: "ws-max-message", kind: argSingle, value: "N", help: "Largest WebSocket message a client may send, in bytes; 0 for no limit\n(condure-go addition; over it the connection closes with 1009)", deflt: "0"},
	{long: "messages-max", kind: argSingle, value: "N", help: "Maximum number of queued WebSocket messages per connection", deflt: "100"},
	{long: "no-http2", kind: argSwitch, help: "HTTP/1 only: no h2c preface, no ALPN h2 (condure-go addition)"},
	{long: "prometheus", kind: argSingle, value: "[addr:]port[,params...]", help: "Address/port to serve Prometheus metrics on (/metrics). Params: local (the\n" +
		"first part is then a unix socket path), prefix=NAME (put before every\nmetric name) (condure-go addition)"},
	{long: "req-maxconn", kind: argSingle, value: "N", help: "Maximum number of concurrent connections in req mode", deflt: "100"},
	{long: "req-timeout", kind: argSingle, value: "N", help: "Client timeout in req mode (seconds)", deflt: "30"},
	{long: "sizes", kind: argSwitch, help: "Prints sizes of tasks and other objects"},
	{long: "stream-maxconn", kind: argSingle, value: "N", help: "Maximum number of concurrent connections in stream mode", deflt: "10000"},
	{long: "stream-timeout", kind: argSingle, value: "N", help: "Client timeout in stream mode (seconds)", deflt: "1800"},
	{long: "tls-identities-dir", kind: argSingle, value: "directory", help: "Directory containing certificates and private keys", deflt: "."},
	{long: "version", short: 'V', kind: argSwitch, help: "Print version information", exitNow: true},
	{long: "workers", kind: argSingle, value: "N", help: "Number of worker threads", deflt: "2"},
	{long: "zclient-connect", kind: argSwitch, help: "ZeroMQ client sockets should connect instead of bind"},
	{long: "zclient-req", kind: argMultiple, value: "spec", help: "ZeroMQ client REQ spec", deflt: "ipc://client"},
	{long: "zclient-stream", kind: argMultiple, value: "spec-base", help: "ZeroMQ client PUSH/ROUTER/SUB spec base", deflt: "ipc://client"},
}

// display is how clap names the flag in an error: "--workers <N>".
func (f *flagSpec) display() string {
	if f.kind == argSwitch {
		return "--" + f.long
	}
	return "--" + f.long + " <" + f.value + ">"
}

func lookupLong(name string) *flagSpec {
	for i := range flags {
		if flags[i].long == name {
			return &flags[i]
		}
	}
	return nil
}

func lookupShort(c byte) *flagSpec {
	for i := range flags {
		if flags[i].short == c {
			return &flags[i]
		}
	}
	return nil
}

// rawArgs is the command line split into flags and values, before any value
// is interpreted.
type rawArgs struct {
	values map[string][]string // long name → values in order ("" for a switch)
	stop   *flagSpec           // --help or --version, if one was seen
}

func (r *rawArgs) has(long string) bool { return len(r.values[long]) > 0 }

// last returns the value of a single-valued flag, or def when absent.
func (r *rawArgs) last(long, def string) string {
	if v := r.values[long]; len(v) > 0 {
		return v[len(v)-1]
	}
	return def
}

// lexArgs does what clap does before condure sees its matches. Arguments are
// taken left to right: "--flag value" and "--flag=value" are both accepted;
// a value in the separate form may not begin with '-' (except "-" itself);
// short flags (-h, -V) may be clustered. --help/--version end parsing at
// once, so "--help --bogus" shows help while "--bogus --help" is an error.
// A repeated single-valued flag is reported only after every argument was
// read, as clap does.
func lexArgs(args []string) (*rawArgs, error) {
	r := &rawArgs{values: make(map[string][]string)}
	positionalOnly := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case positionalOnly || a == "-" || !strings.HasPrefix(a, "-"):
			return nil, unexpected(a)
		case a == "--":
			positionalOnly = true
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			f := lookupLong(name)
			if f == nil {
				return nil, unexpected(a)
			}
			if f.kind == argSwitch {
				if hasVal {
					return nil, usagef("The value '%s' was provided to '%s' but it wasn't expecting any more values", val, f.display())
				}
				if f.exitNow {
					r.stop = f
					return r, nil
				}
				r.values[f.long] = append(r.values[f.long], "")
				continue
			}
			if !hasVal {
				if i+1 >= len(args) || (len(args[i+1]) > 1 && args[i+1][0] == '-') {
					return nil, usagef("The argument '%s' requires a value but none was supplied", f.display())
				}
				i++
				val = args[i]
			}
			r.values[f.long] = append(r.values[f.long], val)
		default: // -h, -V, or a cluster such as -hV: the first letter acts
			f := lookupShort(a[1])
			if f == nil {
				if a[1] < utf8.RuneSelf {
					a = a[:2] // clap names the first letter of a cluster
				}
				return nil, unexpected(a)
			}
			r.stop = f
			return r, nil
		}
	}
	for i := range flags {
		f := &flags[i]
		if f.kind != argMultiple && len(r.values[f.long]) > 1 {
			return nil, usagef("The argument '%s' was provided more than once, but cannot be used multiple times", f.display())
		}
	}
	return r, nil
}

func unexpected(a string) error {
	return usagef("Found argument '%s' which wasn't expected, or isn't valid in this context", a)
}
