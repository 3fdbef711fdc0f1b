package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// maxFileMode bounds the octal modes we accept (--ipc-file-mode, mode=):
// permission bits plus setuid, setgid and sticky. chmod ignores anything
// above, so a larger value can only be a typo.
const maxFileMode = 0o7777

var (
	errInvalidSocketAddr = errors.New("invalid socket address syntax") // Rust's AddrParseError text
	errValueTooLarge     = errors.New("value too large")
)

// parseListen parses one --listen value (reference.md §8.2):
//
//	[ADDR:]PORT[,param[,param…]]     TCP
//	PATH,local[,param…]              unix socket (condure ≥1.5)
//
// Parameters are read first, each split at its first '=' into a key and a
// value: stream and req set the mode (the later wins), tls, default-cert=NAME,
// local, fdname=NAME (condure-go: the systemd socket to use), and for unix sockets mode=OCTAL, user=NAME, group=NAME (condure
// 1.10). As in the reference, a value given to stream, req, tls or local is
// ignored ("tls=x" is tls) and "default-cert" alone sets an empty name. Then
// the address: with local the first part is the path, verbatim; otherwise it
// is split at its last ':', the port must be a u16 and the whole must be a
// numeric IPv4 or bracketed IPv6 socket address (no zone, no host name).
//
// The returned error is the full message condure logs: "failed to parse
// listen: …", or "failed to parse mode: …" for a bad mode= (as in 1.10).
func parseListen(spec string) (Listen, error) {
	var l Listen
	first, params, hasParams := strings.Cut(spec, ",")
	if hasParams {
		for _, p := range strings.Split(params, ",") {
			key, val, _ := strings.Cut(p, "=")
			switch key {
			case "stream":
				l.Mode = ModeStream
			case "req":
				l.Mode = ModeReq
			case "tls":
				l.TLS = true
			case "default-cert":
				l.DefaultCert = val
			case "local":
				l.Local = true
			case "mode":
				m, err := parseFileMode(val)
				if err != nil {
					return Listen{}, fmt.Errorf("failed to parse mode: %w", err)
				}
				l.FileMode = m
			case "user":
				l.User = val
			case "group":
				l.Group = val
			case "fdname":
				l.FdName = val
			default:
				return Listen{}, listenErr(fmt.Errorf("invalid param: %s", p))
			}
		}
	}

	if l.Local {
		l.Addr = first
		return l, nil
	}

	host, port := "0.0.0.0", first
	if i := strings.LastIndexByte(first, ':'); i >= 0 {
		host, port = first[:i], first[i+1:]
	}
	if _, err := parseUint(port, 10, 0xffff); err != nil {
		return Listen{}, listenErr(fmt.Errorf("invalid port %s", port))
	}
	ap, err := netip.ParseAddrPort(host + ":" + port)
	if err != nil || ap.Addr().Zone() != "" {
		// netip and Rust's SocketAddr agree on the syntax (dotted quad
		// without leading zeros, IPv6 only in brackets, decimal port)
		// except that Rust has no zones.
		return Listen{}, listenErr(errInvalidSocketAddr)
	}
	l.Addr = ap.String()
	return l, nil
}

func listenErr(err error) error { return fmt.Errorf("failed to parse listen: %w", err) }

// parseFileMode parses an octal file mode (--ipc-file-mode, mode=) with
// Rust's integer messages, refusing bits chmod does not know.
func parseFileMode(s string) (uint32, error) {
	m, err := parseUint(s, 8, 1<<32-1)
	if err != nil {
		return 0, err
	}
	if m > maxFileMode {
		return 0, errValueTooLarge
	}
	return uint32(m), nil
}
