package main

import (
	"fmt"
	"path/filepath"
)

// The charts are drawn by hack/benchplot, a program of the hack/ module, so
// that the plotting library (gonum/plot) never enters this module's graph.
// charts.json is the whole handoff: every figure a chart shows, computed
// here by the code that computes the report's tables (so a chart and its
// table agree to the last digit), and the files the report links. The
// drawer reads nothing else, and refuses a version or a field it does not
// know; testdata/charts.json, which TestChartsFile keeps equal to what this
// file writes, is what hack/benchplot's test draws.

// chartsVersion changes when a field changes meaning or goes away.
const chartsVersion = 1

// chartsFile is charts.json.
type chartsFile struct {
	Version int         `json:"version"`
	Charts  []chartData `json:"charts"`
}

// chart is what the report needs of a chart: the files it links.
type chart struct {
	Key string `json:"key"` // fresh, apply-ports, apply-subnets, datapath
	PNG string `json:"png"`
	SVG string `json:"svg"`
	Alt string `json:"alt"`
}

// chartData is one chart and its figures: exactly one of Fresh, Scale and
// Datapath is set.
type chartData struct {
	chart
	Fresh    []barParts  `json:"fresh,omitempty"`
	Scale    *scaleChart `json:"scale,omitempty"`
	Datapath []rateBar   `json:"datapath,omitempty"`
}

// barParts is one stacked bar of section 1's chart, milliseconds: see
// freshBar.
type barParts struct {
	Name    string  `json:"name"`
	Kind    string  `json:"kind"` // ours, nft, iptables
	Floor   float64 `json:"floor_ms"`
	GoStart float64 `json:"go_start_ms"`
	Work    float64 `json:"work_ms"`
	Commit  float64 `json:"commit_ms"`
	Rest    float64 `json:"rest_ms"`
	Other   float64 `json:"other_ms"`
	Total   float64 `json:"total_ms"`
	Text    string  `json:"text"` // the total as the report prints it
}

// scaleChart is one axis of section 3: apply time against list size.
type scaleChart struct {
	Axis string `json:"axis"` // ports or subnets
	// Sizes are the list sizes on the axis; 0 has no place on a log axis.
	Sizes []int       `json:"sizes"`
	Lines []scaleLine `json:"lines"`
	// Killed are the sizes where iptables-nft was killed at the limit.
	Killed  []int   `json:"killed,omitempty"`
	LimitMS float64 `json:"limit_ms"`
	Limit   string  `json:"limit"` // as the report words it
}

// scaleLine is one installer's series, in milliseconds per apply.
type scaleLine struct {
	Key    string   `json:"key"` // ours, nft, iptables, iptables-stub
	Points []spread `json:"points"`
}

// spread is a median with its minimum and maximum at X.
type spread struct {
	X      float64 `json:"x"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// rateBar is one datapath configuration of section 4, connections per
// second; Runs 0 is a configuration that was not measured (a label, no
// bar).
type rateBar struct {
	Key    string  `json:"key"` // none, ours-0, ours-4096, iptables-0, iptables-4096
	Runs   int     `json:"runs"`
	Median float64 `json:"median,omitempty"`
	Min    float64 `json:"min,omitempty"`
	Max    float64 `json:"max,omitempty"`
	Text   string  `json:"text,omitempty"`
}

// scaleKeys are the installers of section 3's chart, in legend order.
var scaleKeys = []string{"ours", "nft", "iptables", "iptables-stub"}

// chartsOf is every chart the view has figures for.
func chartsOf(v *view) []chartData {
	var out []chartData
	add := func(key, alt string, c chartData) {
		c.chart = chart{Key: key, PNG: key + ".png", SVG: key + ".svg", Alt: alt}
		out = append(out, c)
	}
	if f := v.Fresh; f != nil && f.Decomposed {
		var bars []barParts
		for _, b := range f.Bars {
			bars = append(bars, barParts{b.Name, b.Kind, b.Floor, b.GoStart, b.Work, b.Commit, b.Rest, b.Other, b.Total, ms(b.Total) + " ms"})
		}
		add("fresh", "fresh apply, whole process, split into its parts, next to nft -f and iptables-nft", chartData{Fresh: bars})
	}
	for _, s := range v.R.Scale {
		add("apply-"+s.Axis, "apply time against "+s.Axis+" list size", chartData{Scale: scaleChartOf(s, v.P.IptLimit)})
	}
	if len(v.R.Datapath) > 0 {
		var bars []rateBar
		for _, r := range v.R.Datapath {
			b := rateBar{Key: r.Key, Runs: len(r.PerSec)}
			if b.Runs > 0 {
				b.Median, b.Min, b.Max = median(r.PerSec), minOf(r.PerSec), maxOf(r.PerSec)
				b.Text = fmt.Sprintf("%.0f/s", b.Median)
			}
			bars = append(bars, b)
		}
		add("datapath", "new connections per second through the inbound redirect", chartData{Datapath: bars})
	}
	return out
}

func scaleChartOf(s Series, limit Duration) *scaleChart {
	c := &scaleChart{Axis: s.Axis, LimitMS: float64(limit.Milliseconds()), Limit: human(limit)}
	for _, pt := range s.Points {
		if pt.X > 0 {
			c.Sizes = append(c.Sizes, pt.X)
		}
	}
	for _, key := range scaleKeys {
		line := scaleLine{Key: key}
		for _, pt := range s.Points {
			if pt.X == 0 { // the table has it
				continue
			}
			switch smp := find(pt.Samples, key); {
			case smp == nil:
			case smp.TimedOut && key == "iptables":
				c.Killed = append(c.Killed, pt.X)
			case smp.ok():
				line.Points = append(line.Points, spread{float64(pt.X), smp.Median(), smp.Min(), smp.Max()})
			}
		}
		if len(line.Points) > 0 {
			c.Lines = append(c.Lines, line)
		}
	}
	return c
}

// writeCharts writes charts.json into dir.
func writeCharts(dir string, charts []chartData) error {
	if charts == nil {
		charts = []chartData{} // "charts": [], so the drawer sees an empty run
	}
	return writeJSON(filepath.Join(dir, "charts.json"), chartsFile{Version: chartsVersion, Charts: charts})
}
