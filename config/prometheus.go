package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// Prometheus is --prometheus (Pushpin's connection manager form,
// condure-go addition): where /metrics is served, and the prefix put before
// every metric name.
type Prometheus struct {
	// Addr is "host:port" (a bare port listens on 0.0.0.0), or the socket
	// path when Local.
	Addr   string
	Local  bool
	Prefix string // "" by default, as in Pushpin; put before each name as is
}

// parsePrometheus parses one --prometheus value:
//
//	[ADDR:]PORT[,prefix=NAME]      TCP
//	PATH,local[,prefix=NAME]       unix socket
//
// The messages are Pushpin's: "failed to parse prometheus: invalid TCP
// address or port: X" and "failed to parse prometheus: invalid param: K".
func parsePrometheus(spec string) (*Prometheus, error) {
	p := &Prometheus{}
	first, params, hasParams := strings.Cut(spec, ",")
	if hasParams {
		for _, kv := range strings.Split(params, ",") {
			key, val, _ := strings.Cut(kv, "=")
			switch key {
			case "local":
				p.Local = true
			case "prefix":
				p.Prefix = val
			default:
				return nil, prometheusErr(fmt.Errorf("invalid param: %s", key))
			}
		}
	}
	if p.Local {
		if first == "" {
			return nil, prometheusErr(fmt.Errorf("empty socket path"))
		}
		p.Addr = first
		return p, nil
	}
	if port, err := parseUint(first, 10, 0xffff); err == nil {
		p.Addr = netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(port)).String()
		return p, nil
	}
	ap, err := netip.ParseAddrPort(first)
	if err != nil || ap.Addr().Zone() != "" {
		return nil, prometheusErr(fmt.Errorf("invalid TCP address or port: %s", first))
	}
	p.Addr = ap.String()
	return p, nil
}

func prometheusErr(err error) error { return fmt.Errorf("failed to parse prometheus: %w", err) }
