package main

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/condure-go/condure/bench/internal/result"
)

func TestParseSteps(t *testing.T) {
	for in, want := range map[string][]int{
		"15000":           {1000, 5000, 15000},
		"1000000":         {66666, 333333, 1000000},
		"1M":              {66666, 333333, 1000000},
		"1000,5000,15000": {1000, 5000, 15000},
		"10k, 20k":        {10000, 20000},
		"7":               {7},
	} {
		got, err := parseSteps(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%q: got %v %v, want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "5,5", "0", "9,3"} {
		if _, err := parseSteps(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestFormatting(t *testing.T) {
	for v, want := range map[float64]string{1234567: "1,234,567", 12345.6: "12,346", 512: "512", 42.25: "42.2", 3.14159: "3.14", 0.1234: "0.123", 0: "0"} {
		if got := num(v); got != want {
			t.Errorf("num(%v) = %q, want %q", v, got, want)
		}
	}
	if num(math.NaN()) != "n/a" || cell(nil) != "n/a" {
		t.Error("n/a")
	}
	if got := cell([]float64{90, 110}); got != "100 ±10%" {
		t.Errorf("cell = %q", got)
	}
	if commas(-1234) != "-1,234" {
		t.Error(commas(-1234))
	}
}

func TestLogTicks(t *testing.T) {
	got := logTicks(100, 10000)
	want := []float64{100, 200, 500, 1000, 2000, 5000, 10000}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v", got)
	}
	if niceMax(31455*1.1) != 50000 || niceMax(0.3) != 0.5 {
		t.Fatal("niceMax")
	}
}

func TestTableAndSVG(t *testing.T) {
	r := &runner{
		o:       options{steps: []int{1000, 5000}, workers: []int{1, 2}, httpC: 100, rounds: 1, only: map[string]bool{"http": true, "idle-http": true}},
		servers: []server{{name: "ours"}, {name: "ref"}},
	}
	hold := func(srv string, n int, perConn float64) {
		r.recs = append(r.recs, record{Scenario: "idle-http", Server: srv, Round: 1, Workers: 2,
			Result: &result.Result{Kind: "hold", Conns: n, Established: int64(n), RSSPerConn: perConn, Server: &result.ProcDelta{CPU: 0.02}}})
	}
	hold("ours", 1000, 1800)
	hold("ours", 5000, 1100)
	hold("ref", 1000, 26000)
	hold("ref", 5000, 25800)
	r.recs = append(r.recs, record{Scenario: "http", Server: "ours", Round: 1, Workers: 1,
		Result: &result.Result{Kind: "http", Count: 250000, Rate: 25000, Server: &result.ProcDelta{CPUPer100k: 3.5}}})
	r.recs = append(r.recs, record{Scenario: "http", Server: "ref", Round: 1, Workers: 1, Error: "boom"})
	txt := r.table()
	for _, want := range []string{"workers=1 requests/s", "25,000", "N=5000    server RSS bytes/conn", "0.04", "http ref: boom (round 1)"} {
		if !strings.Contains(txt, want) {
			t.Errorf("table lacks %q:\n%s", want, txt)
		}
	}
	svg := r.svg()
	if !strings.HasPrefix(svg, "<svg") || !strings.HasSuffix(strings.TrimSpace(svg), "</svg>") || strings.Count(svg, "<polyline") != 2 {
		t.Errorf("svg:\n%s", svg)
	}
}
