package config

import (
	"reflect"
	"testing"
)

func TestParsePrometheus(t *testing.T) {
	tests := []struct {
		spec string
		want Prometheus
	}{
		{"9000", Prometheus{Addr: "0.0.0.0:9000"}},
		{"127.0.0.1:9000", Prometheus{Addr: "127.0.0.1:9000"}},
		{"[::1]:9000", Prometheus{Addr: "[::1]:9000"}},
		{"9000,prefix=edge_", Prometheus{Addr: "0.0.0.0:9000", Prefix: "edge_"}},
		{"9000,prefix=", Prometheus{Addr: "0.0.0.0:9000"}},
		{"/run/condure-metrics.sock,local", Prometheus{Addr: "/run/condure-metrics.sock", Local: true}},
		{"/run/m.sock,local,prefix=x_", Prometheus{Addr: "/run/m.sock", Local: true, Prefix: "x_"}},
	}
	for _, tt := range tests {
		got, err := parsePrometheus(tt.spec)
		if err != nil {
			t.Errorf("%q: %v", tt.spec, err)
			continue
		}
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("%q: %+v, want %+v", tt.spec, *got, tt.want)
		}
	}
}

func TestParsePrometheusErrors(t *testing.T) {
	tests := []struct{ spec, want string }{
		{"notaport", "failed to parse prometheus: invalid TCP address or port: notaport"},
		{"65536", "failed to parse prometheus: invalid TCP address or port: 65536"},
		{"localhost:9000", "failed to parse prometheus: invalid TCP address or port: localhost:9000"},
		{"", "failed to parse prometheus: invalid TCP address or port: "},
		{"9000,tls", "failed to parse prometheus: invalid param: tls"},
		{"9000,prefix=a,bogus=1", "failed to parse prometheus: invalid param: bogus"},
		{",local", "failed to parse prometheus: empty socket path"},
	}
	for _, tt := range tests {
		_, err := parsePrometheus(tt.spec)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%q: error %v, want %q", tt.spec, err, tt.want)
		}
	}
}

func TestPrometheusFlag(t *testing.T) {
	c, err := Parse(nil)
	if err != nil || c.Prometheus != nil {
		t.Fatalf("default: %+v %v (want off)", c.Prometheus, err)
	}
	c, err = Parse([]string{"--prometheus", "9100,prefix=p_"})
	if err != nil || c.Prometheus == nil || *c.Prometheus != (Prometheus{Addr: "0.0.0.0:9100", Prefix: "p_"}) {
		t.Fatalf("--prometheus: %+v %v", c.Prometheus, err)
	}
	if _, err := Parse([]string{"--prometheus", "x"}); err == nil {
		t.Fatal("a bad --prometheus was accepted")
	}
	if _, err := Parse([]string{"--prometheus", "1", "--prometheus", "2"}); err == nil {
		t.Fatal("--prometheus twice was accepted")
	}
}
