package main

// The charts, drawn as SVG by this file alone. (gonum.org/v1/plot was the
// plan, but the Go module proxy refused every download while this harness was
// written, so it draws with the standard library; the charts are the same
// kind: log-log lines with min-max bars, and a bar chart.)

import (
	"errors"
	"fmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Colours and markers per installer, the same in every chart.
var style = map[string]struct {
	label, color, marker string
	dashed               bool
}{
	"ours":          {"proxy-init (ours)", "#1f77b4", "circle", false},
	"nft":           {"nft -f (same ruleset, plain load)", "#2ca02c", "square", false},
	"iptables":      {"iptables-nft, one process per rule", "#d62728", "triangle", false},
	"iptables-stub": {"the same script, iptables stubbed out", "#d62728", "cross", true},
}

// drawCharts draws the scale charts (log-log, one line per installer, bars
// from min to max) and the datapath bar chart, and returns their file names
// by chart key.
func drawCharts(res *Results, dir string) (map[string]string, error) {
	out := map[string]string{}
	var errs []error
	for _, s := range res.Scale {
		name := "apply-" + s.Axis + ".svg"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(scaleChart(s)), 0o644); err != nil {
			errs = append(errs, err)
			continue
		}
		out["apply-"+s.Axis] = name
	}
	if len(res.Datapath) > 0 {
		if err := os.WriteFile(filepath.Join(dir, "datapath.svg"), []byte(rateChart(res.Datapath)), 0o644); err != nil {
			errs = append(errs, err)
		} else {
			out["datapath"] = "datapath.svg"
		}
	}
	return out, errors.Join(errs...)
}

type canvas struct {
	b    strings.Builder
	w, h float64
}

func newCanvas(w, h float64) *canvas {
	c := &canvas{w: w, h: h}
	fmt.Fprintf(&c.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`+"\n", w, h, w, h)
	fmt.Fprintf(&c.b, `<rect width="%.0f" height="%.0f" fill="white"/>`+"\n", w, h)
	return c
}

func (c *canvas) line(x1, y1, x2, y2 float64, color string, width float64, dash string) {
	d := ""
	if dash != "" {
		d = fmt.Sprintf(` stroke-dasharray="%s"`, dash)
	}
	fmt.Fprintf(&c.b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%.1f"%s/>`+"\n", x1, y1, x2, y2, color, width, d)
}

func (c *canvas) text(x, y float64, anchor string, size float64, color, s string, extra ...string) {
	fmt.Fprintf(&c.b, `<text x="%.1f" y="%.1f" text-anchor="%s" font-size="%.0f" fill="%s"%s>%s</text>`+"\n",
		x, y, anchor, size, color, strings.Join(extra, ""), html.EscapeString(s))
}

func (c *canvas) marker(kind string, x, y float64, color string) {
	const r = 4.5
	switch kind {
	case "circle":
		fmt.Fprintf(&c.b, `<circle cx="%.1f" cy="%.1f" r="%.1f" fill="%s"/>`+"\n", x, y, r, color)
	case "square":
		fmt.Fprintf(&c.b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`+"\n", x-r, y-r, 2*r, 2*r, color)
	case "triangle":
		fmt.Fprintf(&c.b, `<polygon points="%.1f,%.1f %.1f,%.1f %.1f,%.1f" fill="%s"/>`+"\n", x, y-r-1, x-r-1, y+r, x+r+1, y+r, color)
	case "cross":
		c.line(x-r, y-r, x+r, y+r, color, 2, "")
		c.line(x-r, y+r, x+r, y-r, color, 2, "")
	}
}

func (c *canvas) String() string { return c.b.String() + "</svg>\n" }

// A log-log chart's plot area.
const (
	padLeft, padRight, padTop, padBottom = 80.0, 24.0, 56.0, 64.0
)

func scaleChart(s Series) string {
	c := newCanvas(960, 560)
	title := "Apply time vs ignored inbound ports (fresh namespace per run, IPv4 + IPv6)"
	xlabel := "entries in --inbound-ports-to-ignore (disjoint intervals; 32768 = every other port)"
	if s.Axis == "subnets" {
		title = "Apply time vs ignored subnets (fresh namespace per run, IPv4 + IPv6)"
		xlabel = "subnets per family in --subnets-to-ignore"
	}
	type pt struct{ x, med, lo, hi float64 }
	series := map[string][]pt{}
	var stopped []float64
	minY, maxY := math.Inf(1), math.Inf(-1)
	var xs []float64
	for _, p := range s.Points {
		if p.X == 0 { // no place on a log axis; the table has it
			continue
		}
		xs = append(xs, float64(p.X))
		for _, key := range []string{"ours", "nft", "iptables", "iptables-stub"} {
			smp := find(p.Samples, key)
			if smp == nil {
				continue
			}
			if smp.TimedOut {
				if key == "iptables" {
					stopped = append(stopped, float64(p.X))
					maxY = math.Max(maxY, 60000)
				}
				continue
			}
			if !smp.ok() {
				continue
			}
			series[key] = append(series[key], pt{float64(p.X), smp.Median(), smp.Min(), smp.Max()})
			minY, maxY = math.Min(minY, smp.Min()), math.Max(maxY, smp.Max())
		}
	}
	if len(xs) == 0 || math.IsInf(minY, 0) {
		c.text(c.w/2, c.h/2, "middle", 16, "#444", "no data")
		return c.String()
	}
	x0, x1 := math.Log10(xs[0])-0.25, math.Log10(xs[len(xs)-1])+0.25
	y0, y1 := math.Floor(math.Log10(minY)), math.Ceil(math.Log10(maxY))
	if y1 == y0 {
		y1++
	}
	pw, ph := c.w-padLeft-padRight, c.h-padTop-padBottom
	X := func(v float64) float64 { return padLeft + (math.Log10(v)-x0)/(x1-x0)*pw }
	Y := func(v float64) float64 { return padTop + ph - (math.Log10(v)-y0)/(y1-y0)*ph }

	c.text(c.w/2, 28, "middle", 17, "#222", title, ` font-weight="bold"`)
	// Grid: decades and 2x/5x lines on y, the measured sizes on x.
	for d := y0; d <= y1; d++ {
		v := math.Pow(10, d)
		c.line(padLeft, Y(v), padLeft+pw, Y(v), "#bbb", 1, "")
		c.text(padLeft-8, Y(v)+4, "end", 12, "#333", msLabel(v))
		for _, m := range []float64{2, 5} {
			if d < y1 {
				c.line(padLeft, Y(v*m), padLeft+pw, Y(v*m), "#e4e4e4", 1, "")
			}
		}
	}
	for _, x := range xs {
		c.line(X(x), padTop, X(x), padTop+ph, "#ddd", 1, "")
		c.text(X(x), padTop+ph+18, "middle", 12, "#333", fmt.Sprint(int(x)))
	}
	fmt.Fprintf(&c.b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#555"/>`+"\n", padLeft, padTop, pw, ph)
	c.text(padLeft+pw/2, c.h-18, "middle", 13, "#222", xlabel)
	c.text(20, padTop+ph/2, "middle", 13, "#222", "one apply, ms (median; bars: min-max; log scale)",
		fmt.Sprintf(` transform="rotate(-90 20 %.1f)"`, padTop+ph/2))

	var legend []string
	for _, key := range []string{"ours", "nft", "iptables", "iptables-stub"} {
		pts := series[key]
		if len(pts) == 0 {
			continue
		}
		st := style[key]
		var poly []string
		for _, p := range pts {
			poly = append(poly, fmt.Sprintf("%.1f,%.1f", X(p.x), Y(p.med)))
		}
		fmt.Fprintf(&c.b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n",
			strings.Join(poly, " "), st.color, map[bool]string{true: ` stroke-dasharray="6 4"`, false: ""}[st.dashed])
		for _, p := range pts {
			if p.hi > p.lo*1.02 {
				c.line(X(p.x), Y(p.lo), X(p.x), Y(p.hi), st.color, 1.5, "")
				c.line(X(p.x)-5, Y(p.lo), X(p.x)+5, Y(p.lo), st.color, 1.5, "")
				c.line(X(p.x)-5, Y(p.hi), X(p.x)+5, Y(p.hi), st.color, 1.5, "")
			}
			c.marker(st.marker, X(p.x), Y(p.med), st.color)
		}
		legend = append(legend, key)
	}
	// The legend, top left inside the plot, over the lines.
	fmt.Fprintf(&c.b, `<rect x="%.1f" y="%.1f" width="330" height="%.1f" fill="white" fill-opacity="0.85" stroke="#ccc"/>`+"\n",
		padLeft+6, padTop+4, 20*float64(len(legend))+6)
	legendY := padTop + 18
	for _, key := range legend {
		st := style[key]
		dash := ""
		if st.dashed {
			dash = "6 4"
		}
		c.line(padLeft+14, legendY-4, padLeft+44, legendY-4, st.color, 2, dash)
		c.marker(st.marker, padLeft+29, legendY-4, st.color)
		c.text(padLeft+52, legendY, "start", 13, "#222", st.label)
		legendY += 20
	}
	for _, x := range stopped {
		c.marker("triangle", X(x), Y(60000), style["iptables"].color)
		c.text(X(x)-10, Y(60000)-10, "end", 12, style["iptables"].color, "iptables-nft: > 60 s, killed; series stopped")
	}
	return c.String()
}

func msLabel(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%g s", v/1000)
	case v >= 1:
		return fmt.Sprintf("%g ms", v)
	}
	return fmt.Sprintf("%g µs", v*1000)
}

func rateChart(rates []Rate) string {
	c := newCanvas(900, 480)
	c.text(c.w/2, 28, "middle", 17, "#222", "New connections per second through the inbound redirect (veth, one at a time)", ` font-weight="bold"`)
	maxV := 0.0
	for _, r := range rates {
		maxV = math.Max(maxV, maxOf(r.PerSec))
	}
	if maxV <= 0 || math.IsInf(maxV, 0) {
		c.text(c.w/2, c.h/2, "middle", 16, "#444", "no data")
		return c.String()
	}
	step := niceStep(maxV / 5)
	top := math.Ceil(maxV*1.08/step) * step
	left, bottom := 90.0, 80.0
	pw, ph := c.w-left-padRight, c.h-padTop-bottom
	Y := func(v float64) float64 { return padTop + ph - v/top*ph }
	for v := 0.0; v <= top+step/2; v += step {
		c.line(left, Y(v), left+pw, Y(v), "#ddd", 1, "")
		c.text(left-8, Y(v)+4, "end", 12, "#333", fmt.Sprintf("%.0f", v))
	}
	c.text(22, padTop+ph/2, "middle", 13, "#222", "connections/s (median; bars: min-max)",
		fmt.Sprintf(` transform="rotate(-90 22 %.1f)"`, padTop+ph/2))
	slot := pw / float64(len(rates))
	names := map[string][2]string{
		"none": {"no rules", "(dials the proxy port)"}, "ours-0": {"ours", "0 subnets"}, "ours-4096": {"ours", "4096 subnets"},
		"iptables-0": {"iptables-nft", "0 subnets"}, "iptables-4096": {"iptables-nft", "4096 subnets"},
	}
	colors := map[string]string{"none": "#7f7f7f", "ours-0": "#1f77b4", "ours-4096": "#1f77b4", "iptables-0": "#d62728", "iptables-4096": "#d62728"}
	for i, r := range rates {
		cx := left + slot*(float64(i)+0.5)
		n := names[r.Key]
		c.text(cx, padTop+ph+20, "middle", 13, "#222", n[0])
		c.text(cx, padTop+ph+38, "middle", 12, "#444", n[1])
		if len(r.PerSec) == 0 {
			c.text(cx, Y(0)-8, "middle", 12, "#444", "no data")
			continue
		}
		m, lo, hi := median(r.PerSec), minOf(r.PerSec), maxOf(r.PerSec)
		bw := slot * 0.55
		opacity := "1"
		if strings.HasSuffix(r.Key, "-0") || r.Key == "none" {
			opacity = "0.55"
		}
		fmt.Fprintf(&c.b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" fill-opacity="%s"/>`+"\n", cx-bw/2, Y(m), bw, Y(0)-Y(m), colors[r.Key], opacity)
		c.line(cx, Y(lo), cx, Y(hi), "#222", 1.5, "")
		c.line(cx-6, Y(lo), cx+6, Y(lo), "#222", 1.5, "")
		c.line(cx-6, Y(hi), cx+6, Y(hi), "#222", 1.5, "")
		c.text(cx+bw/2-4, Y(m)+16, "end", 12, "white", fmt.Sprintf("%.0f", m), ` font-weight="bold"`)
	}
	fmt.Fprintf(&c.b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#555"/>`+"\n", left, padTop, pw, ph)
	return c.String()
}

// niceStep rounds a step up to 1, 2 or 5 times a power of ten.
func niceStep(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}
