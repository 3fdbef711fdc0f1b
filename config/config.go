// Package config turns condure's command line (condure 1.4.0 flags, reference.md
// §8) into a validated Config. It does no I/O besides what flag validation
// needs and never exits: cmd/condure prints the error and exits 1.
//
// It parses what condure 1.4.0 to 1.10 accept for server mode, including
// features added after 1.4.0 (unix-socket listeners, --compression,
// --sizes); whether those are supported is for the caller to decide, so
// their fields say which version introduced them.
package config

import (
	"errors"
	"fmt"
	"strings"
)

// Limits condure applies to its flags (reference.md §8.1).
const (
	maxWorkers      = 1024       // "failed to parse workers: value too large"
	maxHTTP2Streams = 65535      // --http2-max-streams: the open-stream count is 16 bits
	maxTotalMaxConn = 10_000_000 // req-maxconn + stream-maxconn
	// 30 s: long enough for ordinary responses to finish, well inside
	// systemd's default 90 s TimeoutStopSec.
	defaultDrainTimeout = 30
)

// Version is what --version prints after "condure ".
const Version = "1.4.0-go"

// Mode of a listen port.
type Mode uint8

const (
	ModeStream Mode = iota
	ModeReq
)

// Listen is one --listen entry (reference.md §8.2).
type Listen struct {
	// Addr is "host:port" for TCP, normalized (IPv6 bracketed and
	// compressed, e.g. "[::1]:8000"; port without leading zeros). It is the
	// socket path, exactly as given, when Local.
	Addr string
	// Local is a unix-socket listener (",local", condure ≥1.5). TLS,
	// DefaultCert are recorded but unix listeners ignore them in the
	// reference.
	Local       bool
	Mode        Mode
	TLS         bool
	DefaultCert string
	// FileMode is ",mode=OCTAL" for unix sockets (condure 1.10), at most
	// 0o7777; 0 leaves the file alone.
	FileMode uint32
	// User and Group are ",user=NAME" and ",group=NAME" for unix sockets
	// (condure 1.10); "" leaves the owner alone.
	User, Group string
	// FdName is ",fdname=NAME" (condure-go addition): under systemd socket
	// activation, the inherited socket of that FileDescriptorName= serves
	// this listener whatever its address.
	FdName string
}

// Config is the validated command line.
type Config struct {
	LogLevel       int    // 0=ERR 1=WARN 2=INFO 3=DEBUG ≥4=TRACE
	ID             string // non-empty, no space
	Workers        int    // 1..1024
	ReqMaxConn     int    // ≥ Workers; ReqMaxConn+StreamMaxConn ≤ 10,000,000
	StreamMaxConn  int    // ≥ Workers
	BufferSize     int    // bytes, two buffers per connection; not bounded here
	BodyBufferSize int    // req-mode request body limit, bytes
	MessagesMax    int    // queued outgoing WebSocket messages per connection
	WSMaxMessage   int    // largest client WebSocket message, 0 = no limit (condure-go addition)
	ReqTimeout     int    // seconds
	StreamTimeout  int    // seconds
	// Listens holds every --listen in order; [0.0.0.0:8000 stream] when
	// none is given.
	Listens []Listen
	// ZClientReq holds the --zclient-req specs, used as-is;
	// ["ipc://client"] when none is given.
	ZClientReq []string
	// ZClientStream holds the --zclient-stream base specs as given (each
	// known to expand with StreamSpecs); ["ipc://client"] when none is given.
	ZClientStream  []string
	ZClientConnect bool
	// IPCFileMode is --ipc-file-mode, parsed as octal (reference.md §12 #18),
	// at most 0o7777; 0 = unset.
	IPCFileMode      uint32
	TLSIdentitiesDir string // default "."
	Compression      bool   // --compression, permessage-deflate (condure ≥1.9)
	// HTTP2 (condure-go addition, on unless --no-http2): HTTP/2 by prior
	// knowledge on plain listeners and by ALPN on tls ones; HTTP2MaxStreams is
	// --http2-max-streams, the streams open at once per connection (≥ 1).
	HTTP2           bool
	HTTP2MaxStreams int
	// DrainTimeout is --drain-timeout (condure-go addition), seconds: how
	// long a drain (SIGQUIT) lets sessions finish before the usual stop.
	DrainTimeout int
	// Prometheus is --prometheus (Pushpin's connection manager form,
	// condure-go addition); nil: no metrics listener, nothing counted.
	Prometheus *Prometheus
	// Sizes is --sizes (condure ≥1.9): print object sizes and exit 0. When
	// set, Parse stops after reading the arguments: only the defaults, the
	// switches and the buffer sizes (when valid) are filled in, nothing is
	// validated.
	Sizes bool
	// ShowHelp and ShowVersion are --help/-h and --version/-V. Parse
	// returns as soon as it meets one, with every other field at its
	// default, so "--workers x --help" shows help.
	ShowHelp    bool
	ShowVersion bool
}

// defaults returns the Config of an empty command line.
func defaults() *Config {
	return &Config{
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
		DrainTimeout:     defaultDrainTimeout,
		HTTP2MaxStreams:  100,
	}
}

// Parse parses args (without the program name). The returned error's text is
// the exact message condure logs (e.g. "failed to parse workers: value too
// large"). A usage error (unknown flag, missing value) wraps ErrUsage: the
// caller prints usage and exits 2.
//
// Checks run in condure's order (reference.md §8.1), so of several bad flags the
// one condure would name is reported:
//
//  1. the numeric parses: log-level, workers, req-maxconn, stream-maxconn,
//     buffer-size, body-buffer-size, messages-max, req-timeout,
//     stream-timeout, ipc-file-mode;
//  2. id, workers in 1..1024, total maxconn, each --listen in order;
//  3. req maxconn ≥ workers, stream maxconn ≥ workers (condure checks these
//     after logging "starting...");
//  4. each --zclient-stream base spec (StreamSpecs).
//
// Deviations from the reference: --workers 0 is refused ("failed to parse
// workers: value must be at least 1"; condure panics dividing by zero),
// --ipc-file-mode is octal, and a --zclient-stream is checked even when no
// listener is in stream mode.
func Parse(args []string) (*Config, error) {
	raw, err := lexArgs(args)
	if err != nil {
		return nil, err
	}
	c := defaults()
	if raw.stop != nil {
		c.ShowHelp = raw.stop.long == "help"
		c.ShowVersion = raw.stop.long == "version"
		return c, nil
	}
	c.ZClientConnect = raw.has("zclient-connect")
	c.Compression = raw.has("compression")
	c.HTTP2 = !raw.has("no-http2") // on by default; --http2 says so explicitly
	c.Sizes = raw.has("sizes")
	if c.Sizes {
		// Only the buffer sizes matter to --sizes, taken when they parse.
		for _, n := range []struct {
			flag string
			dst  *int
		}{{"buffer-size", &c.BufferSize}, {"body-buffer-size", &c.BodyBufferSize}} {
			if v, err := parseUsize(raw.last(n.flag, "")); err == nil {
				*n.dst = v
			}
		}
		return c, nil
	}

	// 1. Numeric parses.
	for _, n := range []struct {
		flag string
		dst  *int
	}{
		{"log-level", &c.LogLevel},
		{"workers", &c.Workers},
		{"req-maxconn", &c.ReqMaxConn},
		{"stream-maxconn", &c.StreamMaxConn},
		{"buffer-size", &c.BufferSize},
		{"body-buffer-size", &c.BodyBufferSize},
		{"messages-max", &c.MessagesMax},
		{"ws-max-message", &c.WSMaxMessage},
		{"req-timeout", &c.ReqTimeout},
		{"stream-timeout", &c.StreamTimeout},
		{"drain-timeout", &c.DrainTimeout},
		{"http2-max-streams", &c.HTTP2MaxStreams},
	} {
		if !raw.has(n.flag) {
			continue
		}
		v, err := parseUsize(raw.last(n.flag, ""))
		if err != nil {
			return nil, fmt.Errorf("failed to parse %s: %w", n.flag, err)
		}
		*n.dst = v
	}
	if raw.has("ipc-file-mode") {
		m, err := parseFileMode(raw.last("ipc-file-mode", ""))
		if err != nil {
			return nil, fmt.Errorf("failed to parse ipc-file-mode: %w", err)
		}
		c.IPCFileMode = m
	}

	// 2. Values checked before "starting...".
	c.ID = raw.last("id", c.ID)
	if c.ID == "" || strings.Contains(c.ID, " ") {
		return nil, errors.New("failed to parse id: value cannot be empty or contain a space")
	}
	if c.Workers > maxWorkers {
		return nil, errors.New("failed to parse workers: value too large")
	}
	if c.Workers < 1 {
		return nil, errors.New("failed to parse workers: value must be at least 1")
	}
	if c.HTTP2MaxStreams < 1 || c.HTTP2MaxStreams > maxHTTP2Streams {
		return nil, errors.New("failed to parse http2-max-streams: value must be 1 to 65535")
	}
	if c.ReqMaxConn > maxTotalMaxConn || c.StreamMaxConn > maxTotalMaxConn ||
		c.ReqMaxConn+c.StreamMaxConn > maxTotalMaxConn {
		return nil, errors.New("total maxconn is too large")
	}
	if specs := raw.values["listen"]; len(specs) > 0 {
		c.Listens = make([]Listen, 0, len(specs))
		for _, s := range specs {
			l, err := parseListen(s)
			if err != nil {
				return nil, err
			}
			c.Listens = append(c.Listens, l)
		}
	}
	if raw.has("prometheus") {
		p, err := parsePrometheus(raw.last("prometheus", ""))
		if err != nil {
			return nil, err
		}
		c.Prometheus = p
	}

	// 3. Values checked after "starting...".
	if c.ReqMaxConn < c.Workers {
		return nil, errors.New("req maxconn must be >= workers")
	}
	if c.StreamMaxConn < c.Workers {
		return nil, errors.New("stream maxconn must be >= workers")
	}

	// 4. ZeroMQ specs.
	if specs := raw.values["zclient-req"]; len(specs) > 0 {
		c.ZClientReq = specs
	}
	if specs := raw.values["zclient-stream"]; len(specs) > 0 {
		c.ZClientStream = specs
	}
	for _, s := range c.ZClientStream {
		if _, _, _, err := StreamSpecs(s); err != nil {
			return nil, err
		}
	}
	c.TLSIdentitiesDir = raw.last("tls-identities-dir", c.TLSIdentitiesDir)
	return c, nil
}
