package main

import (
	"bytes"
	_ "embed"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
	"time"
)

func cmdReport(args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	out := fs.String("out", "bench", "directory holding results.json; REPORT.md and charts.json are written there")
	if err := fs.Parse(args); err != nil {
		return err
	}
	res, err := readResults(filepath.Join(*out, "results.json"))
	if err != nil {
		return err
	}
	if res.Params == (Params{}) {
		// Results from before the parameters were recorded, when they
		// were the same figures as in the code.
		res.Params, res.ParamsAssumed = params(res.Quick), true
	}
	if res.Base == nil {
		res.Base, res.Changed = baseFlags, changedFlags
	}
	return writeReport(res, *out)
}

// Goal thresholds, from the issue.
const (
	goalVsNft      = 0.5  // (a-d)/(b-d)
	goalVsIptables = 0.05 // (a-d)/(c-d)
	goalScale      = 0.8  // ours / nft -f at every list size
	goalDatapath   = 0.9  // rate with 4096 subnets / rate with none
	goalRSSMiB     = 20
	goalBinaryMiB  = 8
	// CNI ADD above the floor, ours / upstream's linkerd-cni in the same
	// run: a meshed pod (both with ipv6, the same rules) and an unmeshed
	// pod's skip path.
	goalCNIMeshed = 0.15
	goalCNISkip   = 0.8
)

// The report's prose and tables: every number in it comes from the view.
//
//go:embed report.md.tmpl
var reportTemplate string

// writeReport computes the view once, writes the charts' figures from it
// (charts.json, for hack/benchplot) and renders REPORT.md from it through
// the template.
func writeReport(res *Results, dir string) error {
	v := newView(res)
	charts := chartsOf(v)
	if err := writeCharts(dir, charts); err != nil {
		return fmt.Errorf("charts.json: %w", err)
	}
	v.setCharts(charts)
	var b bytes.Buffer
	if err := renderReport(&b, v); err != nil {
		return err
	}
	// The template's optional parts leave runs of blank lines behind.
	md := blankLines.ReplaceAll(b.Bytes(), []byte("\n\n"))
	path := filepath.Join(dir, "REPORT.md")
	if err := os.WriteFile(path, md, 0o644); err != nil {
		return err
	}
	logf("wrote %s", path)
	return nil
}

var blankLines = regexp.MustCompile(`\n{3,}`)

func renderReport(b *bytes.Buffer, v *view) error {
	t, err := template.New("report").Funcs(template.FuncMap{
		"ms": ms, "f1": fmtf("%.1f"), "f2": fmtf("%.2f"), "f3": fmtf("%.3f"), "f0": fmtf("%.0f"),
		"pct": func(x float64) string { return fmtf("%.1f%%")(100 * x) },
		"mib": func(kib float64) string { return fmtf("%.1f")(kib / 1024) },
		"inv": func(x float64) float64 { return 1 / x },
		"le":  verdictLE, "ge": verdictGE, "list": ratioList, "human": human, "dur": dur, "bytes": bytesStr,
		"pct1": func(x float64) float64 { return 100 * x }, "sub": func(a, b float64) float64 { return a - b },
		"div": func(a, b float64) float64 { return a / b }, "neg": func(x float64) float64 { return -x },
		"listChunk": func() int { return listChunk }, "validateTarget": func() string { return validateTarget },
		"goBenchPkgs": func() string { return goBenchPkgs }, "upstreamHow": upstreamHow,
		"mibBytes": func(b int64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) },
		"orNone":   orNone, "flags": cmdline, "ok": func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) },
	}).Parse(reportTemplate)
	if err != nil {
		return err
	}
	return t.Execute(b, v)
}

// verdictLE words a "value <= target" check.
func verdictLE(v, target float64) string {
	if math.IsNaN(v) {
		return "not measured"
	}
	if v <= target {
		return "**met**"
	}
	return fmt.Sprintf("**missed** by %.2g%% (%.3g vs %.3g)", 100*(v/target-1), v, target)
}

func verdictGE(v, target float64) string {
	if math.IsNaN(v) {
		return "not measured"
	}
	if v >= target {
		return "**met**"
	}
	return fmt.Sprintf("**missed** by %.1f points (%.1f%% vs %.0f%%)", 100*(target-v), 100*v, 100*target)
}

func ratioList(v []float64) string {
	var parts []string
	for _, x := range v {
		parts = append(parts, fmt.Sprintf("%.2f", x))
	}
	return strings.Join(parts, ", ")
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func fmtf(format string) func(float64) string {
	return func(x float64) string {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "-"
		}
		return fmt.Sprintf(format, x)
	}
}

// ms prints milliseconds with sensible precision.
func ms(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "-"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// human prints a parameter's duration as prose does: "60 s", "500 ms".
func human(d Duration) string {
	if d.Duration >= time.Second {
		return fmt.Sprintf("%g s", d.Seconds())
	}
	return fmt.Sprintf("%g ms", float64(d.Microseconds())/1e3)
}

func dur(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

func bytesStr(b float64) string {
	switch {
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", b/(1<<10))
	}
	return fmt.Sprintf("%.0f B", b)
}
