package main

// The charts, drawn with gonum.org/v1/plot, each written as PNG (embedded in
// docs/performance.md and the report) and SVG (linked, for zooming). Everything here
// turns the figures of charts.json into plotters; the drawing is gonum's.

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// pngDPI: twice the screen's 96, so the PNGs stay sharp on dense displays.
const pngDPI = 192

// look is how one installer or part of a bar is drawn, the same in every
// chart.
type look struct {
	label  string
	color  color.RGBA
	glyph  draw.GlyphDrawer
	dashed bool
}

var (
	grey  = color.RGBA{0x7f, 0x7f, 0x7f, 0xff}
	blue  = color.RGBA{0x1f, 0x77, 0xb4, 0xff}
	green = color.RGBA{0x2c, 0xa0, 0x2c, 0xff}
	red   = color.RGBA{0xd6, 0x27, 0x28, 0xff}
)

// lighter mixes c with white: the same installer, a lighter case.
func lighter(c color.RGBA) color.RGBA {
	mix := func(v uint8) uint8 { return uint8((int(v) + 2*255) / 3) }
	return color.RGBA{mix(c.R), mix(c.G), mix(c.B), 0xff}
}

var installerLook = map[string]look{
	"ours":          {"proxy-init (ours)", blue, draw.CircleGlyph{}, false},
	"nft":           {"nft -f (same ruleset, plain load)", green, draw.SquareGlyph{}, false},
	"iptables":      {"iptables-nft, one process per rule (upstream's shape)", red, draw.TriangleGlyph{}, false},
	"iptables-stub": {"the same script with iptables-nft stubbed out", red, draw.CrossGlyph{}, true},
}

// drawCharts draws every chart of f into dir and returns those drawn.
func drawCharts(f *chartsFile, dir string) ([]chart, error) {
	var out []chart
	var errs []error
	for _, c := range f.Charts {
		var w, h vg.Length
		var drawOn func(draw.Canvas) error
		switch {
		case len(c.Fresh) > 0:
			w, h = 10*vg.Inch, 4.6*vg.Inch
			drawOn = func(dc draw.Canvas) error { return freshChart(c.Fresh, dc) }
		case c.Scale != nil:
			w, h = 8*vg.Inch, 4.8*vg.Inch
			drawOn = func(dc draw.Canvas) error {
				p, err := scalePlot(c.Scale)
				if err != nil {
					return err
				}
				drawLogY(p, dc)
				return nil
			}
		default:
			w, h = 8*vg.Inch, 4.4*vg.Inch
			drawOn = func(dc draw.Canvas) error {
				p, err := datapathPlot(c.Datapath)
				if err != nil {
					return err
				}
				p.Draw(dc)
				return nil
			}
		}
		if err := save(dir, c.chart, w, h, drawOn); err != nil {
			errs = append(errs, fmt.Errorf("chart %s: %w", c.Key, err))
			continue
		}
		out = append(out, c.chart)
	}
	return out, errors.Join(errs...)
}

// save draws the chart twice, as PNG and as SVG.
func save(dir string, c chart, w, h vg.Length, drawOn func(draw.Canvas) error) error {
	for _, f := range []struct {
		name   string
		canvas interface {
			vg.CanvasSizer
			io.WriterTo
		}
	}{
		{c.PNG, vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(pngDPI))}},
		{c.SVG, vgsvg.New(w, h)},
	} {
		dc := draw.New(f.canvas)
		// PNG canvases start transparent; a README on a dark theme would
		// show black text on black.
		dc.SetColor(color.White)
		dc.Fill(dc.Rectangle.Path())
		if err := drawOn(dc); err != nil {
			return err
		}
		file, err := os.Create(filepath.Join(dir, f.name))
		if err != nil {
			return err
		}
		_, err = f.canvas.WriteTo(file)
		if cerr := file.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// newPlot is a plot with the charts' common text sizes: small enough that
// the labels leave the data most of the room.
func newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, xlabel, ylabel
	p.Title.TextStyle.Font.Size = vg.Points(12)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font.Size = vg.Points(10)
		a.Tick.Label.Font.Size = vg.Points(9)
	}
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	return p
}

// drawLogY draws a plot whose y axis is logarithmic, with the axis label
// beside it rather than gonum's: gonum centres a y label at the linear
// midpoint of the range, which on a log axis lies near the top, and then
// shrinks the data area until the label fits below the top edge.
func drawLogY(p *plot.Plot, dc draw.Canvas) {
	label := p.Y.Label.Text
	p.Y.Label.Text = ""
	sty := p.Y.Label.TextStyle
	sty.Rotation = math.Pi / 2
	sty.XAlign, sty.YAlign = draw.XCenter, draw.YTop
	width := sty.Height(label) + p.Y.Label.Padding
	// Centred on the data area, which is below the title.
	top := dc.Max.Y - p.Title.TextStyle.Rectangle(p.Title.Text).Size().Y - p.Title.Padding
	mid := (dc.Min.Y + top) / 2
	dc.FillText(sty, vg.Point{X: dc.Min.X + vg.Points(2), Y: mid}, label)
	p.Draw(draw.Crop(dc, width+vg.Points(2), 0, 0, 0))
}

// msTicks labels a logarithmic millisecond axis at its decades, with units.
type msTicks struct{}

func (msTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.LogTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = msLabel(ticks[i].Value)
		}
	}
	return ticks
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

// xyErr is a series of medians with their min-max spread.
type xyErr struct {
	plotter.XYs
	plotter.YErrors
}

func (e *xyErr) add(s spread) {
	e.XYs = append(e.XYs, plotter.XY{X: s.X, Y: s.Median})
	e.YErrors = append(e.YErrors, struct{ Low, High float64 }{s.Median - s.Min, s.Max - s.Median})
}

// scalePlot: apply time against list size, log-log, one line per
// installer with min-max bars; where iptables-nft was killed at the time
// limit, a mark at the limit.
func scalePlot(s *scaleChart) (*plot.Plot, error) {
	title, xlabel := "Apply time against ignored ports (fresh namespace, IPv4 + IPv6)", "disjoint port intervals per family (32768: every other port)"
	if s.Axis == "subnets" {
		title, xlabel = "Apply time against ignored subnets (fresh namespace, IPv4 + IPv6)", "ignored subnets per family"
	}
	p := newPlot(title, xlabel, "one apply (median; bars: min to max)")
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.Y.Tick.Marker = msTicks{}
	p.Add(plotter.NewGrid())

	for _, l := range s.Lines {
		lk, ok := installerLook[l.Key]
		if !ok {
			return nil, fmt.Errorf("no look for installer %q", l.Key)
		}
		var e xyErr
		for _, pt := range l.Points {
			e.add(pt)
		}
		line, points, err := plotter.NewLinePoints(e.XYs)
		if err != nil {
			return nil, err
		}
		line.Color, line.Width = lk.color, vg.Points(1.5)
		if lk.dashed {
			line.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		points.Color, points.Shape, points.Radius = lk.color, lk.glyph, vg.Points(3)
		bars, err := plotter.NewYErrorBars(&e)
		if err != nil {
			return nil, err
		}
		bars.Color = lk.color
		p.Add(line, points, bars)
		p.Legend.Add(lk.label, line, points)
	}
	var xt plot.ConstantTicks
	for _, x := range s.Sizes {
		xt = append(xt, plot.Tick{Value: float64(x), Label: fmt.Sprint(x)})
	}
	p.X.Tick.Marker = xt
	if len(s.Killed) > 0 {
		var killed plotter.XYs
		for _, x := range s.Killed {
			killed = append(killed, plotter.XY{X: float64(x), Y: s.LimitMS})
		}
		mark, err := plotter.NewScatter(killed)
		if err != nil {
			return nil, err
		}
		mark.Color, mark.Shape, mark.Radius = red, draw.PyramidGlyph{}, vg.Points(4)
		p.Add(mark)
		p.Legend.Add(fmt.Sprintf("iptables-nft killed at the %s limit; series stopped", s.Limit), mark)
	}
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(6), -vg.Points(6)
	return p, nil
}

// datapathPlot: connection rate per configuration, bars at the median with
// min-max whiskers.
func datapathPlot(rates []rateBar) (*plot.Plot, error) {
	p := newPlot("New connections through the inbound redirect", "", "connections per second (median; bars: min to max)")
	p.Y.Min = 0
	names := map[string]string{
		"none": "no rules\n(dials the proxy port)", "ours-0": "ours\n0 subnets", "ours-4096": "ours\n4096 subnets",
		"iptables-0": "iptables-nft\n0 subnets", "iptables-4096": "iptables-nft\n4096 subnets",
	}
	colors := map[string]color.RGBA{"none": grey, "ours-0": lighter(blue), "ours-4096": blue, "iptables-0": lighter(red), "iptables-4096": red}
	var labels []string
	var e xyErr
	var tags plotter.XYLabels
	var light []bool // per tag: on a lighter bar
	for i, r := range rates {
		name := names[r.Key]
		if name == "" {
			name = r.Key
		}
		labels = append(labels, name)
		if r.Runs == 0 {
			continue
		}
		m := r.Median
		b, err := plotter.NewBarChart(plotter.Values{m}, vg.Points(40))
		if err != nil {
			return nil, err
		}
		b.XMin, b.Color, b.LineStyle.Width = float64(i), colors[r.Key], 0
		p.Add(b)
		e.add(spread{X: float64(i), Median: m, Min: r.Min, Max: r.Max})
		// Half-way up the bar, clear of the whisker at its top.
		tags.XYs = append(tags.XYs, plotter.XY{X: float64(i), Y: m / 2})
		tags.Labels = append(tags.Labels, r.Text)
		light = append(light, r.Key != "none" && colors[r.Key] != blue && colors[r.Key] != red)
	}
	if len(e.XYs) > 0 {
		bars, err := plotter.NewYErrorBars(&e)
		if err != nil {
			return nil, err
		}
		l, err := plotter.NewLabels(tags)
		if err != nil {
			return nil, err
		}
		for i := range l.TextStyle {
			l.TextStyle[i].XAlign, l.TextStyle[i].YAlign = draw.XCenter, draw.YCenter
			l.TextStyle[i].Font.Size = vg.Points(9)
			l.TextStyle[i].Color = color.White
			if light[i] {
				l.TextStyle[i].Color = color.Black
			}
		}
		p.Add(bars, l)
	}
	p.NominalX(labels...)
	return p, nil
}

// freshChart: the fresh apply as stacked bars, ours split into its parts,
// beside nft -f and iptables-nft; two panels, the left one zoomed to ours
// and nft's plain load, because iptables-nft's bar is ten times taller.
func freshChart(bars []freshBar, dc draw.Canvas) error {
	parts := []struct {
		look
		of func(b freshBar) float64
	}{
		{look{label: "floor: unshare -n true (a namespace, one exec)", color: color.RGBA{0xc7, 0xc7, 0xc7, 0xff}}, func(b freshBar) float64 { return b.Floor }},
		{look{label: "ours: Go runtime start (an empty Go program)", color: lighter(lighter(blue))}, func(b freshBar) float64 { return b.GoStart }},
		{look{label: "ours: package init, flags, plan (--simulate)", color: lighter(blue)}, func(b freshBar) float64 { return b.Work }},
		{look{label: "ours: netlink batch and kernel commit", color: blue}, func(b freshBar) float64 { return b.Commit }},
		{look{label: "ours: the rest (not split: no --simulate row in these results)", color: blue}, func(b freshBar) float64 { return b.Rest }},
		{look{label: "nft -f: the whole command above the floor", color: green}, otherOf("nft")},
		{look{label: "iptables-nft: the whole sequence above the floor", color: red}, otherOf("iptables")},
	}
	panel := func(title string, bars []freshBar, legend bool) (*plot.Plot, error) {
		p := newPlot(title, "", "whole process, ms (medians)")
		p.Y.Min = 0
		grid := plotter.NewGrid()
		grid.Vertical.Width = 0 // the x axis is nominal
		p.Add(grid)
		var below *plotter.BarChart
		var names []string
		for _, b := range bars {
			names = append(names, b.Name)
		}
		for _, part := range parts {
			vals := make(plotter.Values, len(bars))
			any := false
			for i, b := range bars {
				vals[i] = math.Max(0, part.of(b)) // fold keeps ours' parts >= 0
				any = any || vals[i] > 0
			}
			if !any {
				continue
			}
			bc, err := plotter.NewBarChart(vals, vg.Points(46))
			if err != nil {
				return nil, err
			}
			bc.Color, bc.LineStyle.Width = part.color, 0
			if below != nil {
				bc.StackOn(below)
			}
			below = bc
			p.Add(bc)
			if legend {
				p.Legend.Add(part.label, bc)
			}
		}
		var tags plotter.XYLabels
		for i, b := range bars {
			tags.XYs = append(tags.XYs, plotter.XY{X: float64(i), Y: b.Total})
			tags.Labels = append(tags.Labels, b.Text)
		}
		l, err := plotter.NewLabels(tags)
		if err != nil {
			return nil, err
		}
		for i := range l.TextStyle {
			l.TextStyle[i].XAlign, l.TextStyle[i].YAlign = draw.XCenter, draw.YBottom
		}
		l.Offset = vg.Point{Y: vg.Points(2)}
		p.Add(l)
		p.NominalX(names...)
		return p, nil
	}
	if len(bars) < 3 {
		return fmt.Errorf("%d bars; want ours, nft's plain load and at least one more", len(bars))
	}
	zoom, err := panel("Ours and nft's plain load, zoomed", bars[:2], false)
	if err != nil {
		return err
	}
	all, err := panel(fmt.Sprintf("All %d, one scale", len(bars)), bars, true)
	if err != nil {
		return err
	}
	// Room above the tallest bar for its label and for the legend.
	zoom.Y.Max = 1.15 * math.Max(bars[0].Total, bars[1].Total)
	all.Y.Max = 1.1 * bars[len(bars)-1].Total
	all.Legend.Top, all.Legend.Left = true, true
	all.Legend.XOffs, all.Legend.YOffs = vg.Points(4), -vg.Points(2)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Points(18), PadTop: vg.Points(22), PadLeft: vg.Points(4), PadRight: vg.Points(6), PadBottom: vg.Points(4)}
	cs := plot.Align([][]*plot.Plot{{zoom, all}}, tiles, dc)
	zoom.Draw(cs[0][0])
	all.Draw(cs[0][1])
	title := plot.New().Title.TextStyle
	title.Font.Size = vg.Points(13)
	title.XAlign, title.YAlign = draw.XCenter, draw.YTop
	dc.FillText(title, vg.Point{X: (dc.Min.X + dc.Max.X) / 2, Y: dc.Max.Y - vg.Points(4)},
		"Fresh apply into a new pod namespace: whole process, the namespace floor included")
	return nil
}

// otherOf is the part of a bar above the floor for one kind of command.
func otherOf(kind string) func(freshBar) float64 {
	return func(b freshBar) float64 {
		if b.Kind == kind {
			return b.Other
		}
		return 0
	}
}
