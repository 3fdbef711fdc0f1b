package main

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// maxSources bounds a source list (a /16 worth of addresses).
const maxSources = 65536

// parseSources parses a list of IPv4 source addresses: comma-separated
// items, each an address or an inclusive range "A-B" (B may also be just
// the last octet: "127.0.0.2-60"). Every address must be in 127.0.0.0/8,
// since the tools only run against loopback. An empty string gives nil (let
// the kernel choose).
func parseSources(s string) ([][4]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var out [][4]byte
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		lo, hi, isRange := strings.Cut(item, "-")
		a, err := loopback4(lo)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if !strings.Contains(hi, ".") {
				// Short form: the last octet only.
				n, err := strconv.ParseUint(strings.TrimSpace(hi), 10, 8)
				if err != nil {
					return nil, fmt.Errorf("source range %q: bad last octet", item)
				}
				b = a
				b[3] = byte(n)
			} else if b, err = loopback4(hi); err != nil {
				return nil, err
			}
		}
		from, to := binary.BigEndian.Uint32(a[:]), binary.BigEndian.Uint32(b[:])
		if to < from {
			return nil, fmt.Errorf("source range %q is backwards", item)
		}
		if uint64(len(out))+uint64(to-from)+1 > maxSources {
			return nil, fmt.Errorf("more than %d source addresses", maxSources)
		}
		for v := from; ; v++ {
			var ip [4]byte
			binary.BigEndian.PutUint32(ip[:], v)
			out = append(out, ip)
			if v == to {
				break
			}
		}
	}
	return out, nil
}

func loopback4(s string) ([4]byte, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil || !a.Is4() {
		return [4]byte{}, fmt.Errorf("source %q: not an IPv4 address", s)
	}
	if !a.IsLoopback() {
		return [4]byte{}, fmt.Errorf("source %s: only 127.0.0.0/8 is allowed", a)
	}
	return a.As4(), nil
}

// parseTarget parses HOST:PORT and insists on a loopback IPv4 host.
func parseTarget(s string) (ip [4]byte, port int, err error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return ip, 0, fmt.Errorf("target %q: %v", s, err)
	}
	if !ap.Addr().Is4() || !ap.Addr().IsLoopback() {
		return ip, 0, fmt.Errorf("target %s: only 127.0.0.0/8 is allowed", s)
	}
	if ap.Port() == 0 {
		return ip, 0, fmt.Errorf("target %s: no port", s)
	}
	return ap.Addr().As4(), int(ap.Port()), nil
}

// parseCounts parses "1000,5000,15000" (k and M suffixes allowed) into an
// increasing list of connection counts.
func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		mul := 1
		switch {
		case strings.HasSuffix(f, "k"), strings.HasSuffix(f, "K"):
			mul, f = 1000, f[:len(f)-1]
		case strings.HasSuffix(f, "M"), strings.HasSuffix(f, "m"):
			mul, f = 1000000, f[:len(f)-1]
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad connection count %q", f)
		}
		n *= mul
		if len(out) > 0 && n <= out[len(out)-1] {
			return nil, fmt.Errorf("connection counts must increase: %s", s)
		}
		out = append(out, n)
	}
	return out, nil
}
