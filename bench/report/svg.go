package main

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// Hand-written SVG: left, server bytes per idle connection against N (log
// scales), one line per server and protocol; right, HTTP requests/s per
// worker count, one bar per server.

const (
	svgW, svgH     = 1000, 450
	panelW, panelH = 400, 300
	leftX, rightX  = 80, 580
	topY           = 60
)

var colors = map[string]string{"ours": "#1f77b4", "base": "#9467bd", "ref": "#ff7f0e", "nginx": "#2ca02c"}

type svgBuf struct{ strings.Builder }

func (s *svgBuf) f(format string, a ...any) { fmt.Fprintf(s, format, a...); s.WriteByte('\n') }

func (s *svgBuf) text(x, y float64, anchor, size, body string, extra ...string) {
	s.f(`<text x="%.1f" y="%.1f" text-anchor="%s" font-size="%s" %s>%s</text>`, x, y, anchor, size, strings.Join(extra, " "), html.EscapeString(body))
}

// logTicks returns 1-2-5 ticks covering [lo, hi].
func logTicks(lo, hi float64) []float64 {
	var out []float64
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if v >= lo*0.999 && v <= hi*1.001 {
				out = append(out, v)
			}
		}
	}
	return out
}

// niceMax rounds v up to 1, 2 or 5 times a power of ten.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*e >= v {
			return m * e
		}
	}
	return 10 * e
}

func short(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%gM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%gk", v/1e3)
	}
	return fmt.Sprintf("%g", v)
}

func (r *runner) svg() string {
	var s svgBuf
	s.f(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif">`, svgW, svgH, svgW, svgH)
	s.f(`<rect width="100%%" height="100%%" fill="white"/>`)
	r.connPanel(&s)
	r.ratePanel(&s)
	// Legend.
	lx := float64(leftX)
	for _, srv := range r.servers {
		name := map[string]string{"ours": "condure-go", "base": "condure-go (base build)", "ref": "condure (reference)", "nginx": "nginx (return 200)"}[srv.name]
		s.f(`<rect x="%.1f" y="%d" width="14" height="14" fill="%s"/>`, lx, svgH-28, colors[srv.name])
		s.text(lx+20, float64(svgH-16), "start", "13", name)
		lx += 180
	}
	s.f(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#555" stroke-width="2"/>`, lx, svgH-21, lx+24, svgH-21)
	s.text(lx+30, float64(svgH-16), "start", "13", "HTTP")
	s.f(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#555" stroke-width="2" stroke-dasharray="6 4"/>`, lx+90, svgH-21, lx+114, svgH-21)
	s.text(lx+120, float64(svgH-16), "start", "13", "WebSocket")
	s.f(`</svg>`)
	return s.String()
}

func (r *runner) connPanel(s *svgBuf) {
	x0, y0 := float64(leftX), float64(topY)
	s.text(x0+panelW/2, 30, "middle", "15", "Server memory per idle connection", `font-weight="bold"`)
	type pt struct{ n, b float64 }
	series := map[string][]pt{}
	var all []float64
	for _, srv := range r.servers {
		for _, kind := range []string{"http", "ws"} {
			for _, n := range r.o.steps {
				n := n
				v := r.vals("idle-"+kind, srv.name, func(rec *record) bool { return rec.Result.Conns == n && rec.Result.Established > 0 },
					func(rec *record) (float64, bool) { return rec.Result.RSSPerConn, rec.Result.RSSPerConn > 0 })
				if len(v) > 0 {
					series[srv.name+" "+kind] = append(series[srv.name+" "+kind], pt{float64(n), mean(v)})
					all = append(all, mean(v))
				}
			}
		}
	}
	nlo, nhi := float64(r.o.steps[0]), float64(r.o.steps[len(r.o.steps)-1])
	if nlo == nhi {
		nlo, nhi = nlo/2, nhi*2
	}
	blo, bhi := 100.0, 100000.0
	if len(all) > 0 {
		blo, bhi = math.Inf(1), 0
		for _, v := range all {
			blo, bhi = min(blo, v), max(bhi, v)
		}
		blo = math.Pow(10, math.Floor(math.Log10(max(blo, 1))))
		bhi = math.Pow(10, math.Ceil(math.Log10(max(bhi, 1)*1.0001)))
	}
	xs := func(n float64) float64 {
		return x0 + (math.Log10(n)-math.Log10(nlo))/(math.Log10(nhi)-math.Log10(nlo))*panelW
	}
	ys := func(b float64) float64 {
		return y0 + panelH - (math.Log10(b)-math.Log10(blo))/(math.Log10(bhi)-math.Log10(blo))*panelH
	}
	s.f(`<rect x="%.1f" y="%.1f" width="%d" height="%d" fill="none" stroke="#999"/>`, x0, y0, panelW, panelH)
	for _, v := range logTicks(blo, bhi) {
		y := ys(v)
		s.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/>`, x0, y, x0+panelW, y)
		s.text(x0-6, y+4, "end", "11", short(v))
	}
	for _, n := range r.o.steps {
		x := xs(float64(n))
		s.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/>`, x, y0, x, y0+panelH)
		s.text(x, y0+panelH+16, "middle", "11", short(float64(n)))
	}
	s.text(x0+panelW/2, y0+panelH+36, "middle", "12", "idle connections N (log)")
	s.text(x0-50, y0+panelH/2, "middle", "12", "RSS bytes per connection (log)", fmt.Sprintf(`transform="rotate(-90 %.1f %.1f)"`, x0-50, y0+panelH/2))
	for _, srv := range r.servers {
		for _, kind := range []string{"http", "ws"} {
			pts := series[srv.name+" "+kind]
			if len(pts) == 0 {
				continue
			}
			dash := ""
			if kind == "ws" {
				dash = ` stroke-dasharray="6 4"`
			}
			var path []string
			for _, p := range pts {
				path = append(path, fmt.Sprintf("%.1f,%.1f", xs(p.n), ys(p.b)))
			}
			s.f(`<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`, strings.Join(path, " "), colors[srv.name], dash)
			for _, p := range pts {
				s.f(`<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"/>`, xs(p.n), ys(p.b), colors[srv.name])
				s.text(xs(p.n)+5, ys(p.b)-6, "start", "10", fmt.Sprintf("%.0f", p.b), `fill="#333"`)
			}
		}
	}
}

func (r *runner) ratePanel(s *svgBuf) {
	x0, y0 := float64(rightX), float64(topY)
	s.text(x0+panelW/2, 30, "middle", "15", fmt.Sprintf("HTTP keep-alive requests/s (c=%d)", r.o.httpC), `font-weight="bold"`)
	type bar struct {
		srv string
		v   float64
	}
	var groups [][]bar
	top := 0.0
	for _, w := range r.o.workers {
		w := w
		var g []bar
		for _, srv := range r.servers {
			v := r.vals("http", srv.name, func(rec *record) bool { return rec.Workers == w }, rateM)
			m := 0.0
			if len(v) > 0 {
				m = mean(v)
			}
			g = append(g, bar{srv.name, m})
			top = max(top, m)
		}
		groups = append(groups, g)
	}
	top = niceMax(top * 1.1)
	ys := func(v float64) float64 { return y0 + panelH - v/top*panelH }
	s.f(`<rect x="%.1f" y="%.1f" width="%d" height="%d" fill="none" stroke="#999"/>`, x0, y0, panelW, panelH)
	for i := 0; i <= 5; i++ {
		v := top * float64(i) / 5
		s.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/>`, x0, ys(v), x0+panelW, ys(v))
		s.text(x0-6, ys(v)+4, "end", "11", short(math.Round(v)))
	}
	gw := float64(panelW) / float64(max(len(groups), 1))
	for gi, g := range groups {
		bw := gw * 0.6 / float64(max(len(g), 1))
		gx := x0 + gw*float64(gi) + gw*0.2
		for bi, b := range g {
			x := gx + bw*float64(bi)
			if b.v > 0 {
				s.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`, x+2, ys(b.v), bw-4, y0+panelH-ys(b.v), colors[b.srv])
				s.text(x+bw/2, ys(b.v)-5, "middle", "11", commas(int64(math.Round(b.v))))
			} else {
				s.text(x+bw/2, y0+panelH-5, "middle", "11", "n/a")
			}
		}
		label := fmt.Sprintf("%d worker", r.o.workers[gi])
		if r.o.workers[gi] != 1 {
			label += "s"
		}
		s.text(x0+gw*float64(gi)+gw/2, y0+panelH+16, "middle", "12", label)
	}
	s.text(x0-55, y0+panelH/2, "middle", "12", "requests/s", fmt.Sprintf(`transform="rotate(-90 %.1f %.1f)"`, x0-55, y0+panelH/2))
}
