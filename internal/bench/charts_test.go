package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/charts.json from the synthetic run")

// TestChartsFile: the report of a full run writes charts.json with every
// chart it links, and that file is testdata/charts.json byte for byte. The
// testdata file is what hack/benchplot's test draws, so a change to the
// handoff shows here first (go test -update rewrites it) and then there.
func TestChartsFile(t *testing.T) {
	dir := written(t, synthetic())
	got, err := os.ReadFile(filepath.Join(dir, "charts.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f chartsFile
	if err := json.Unmarshal(got, &f); err != nil {
		t.Fatal(err)
	}
	report, err := os.ReadFile(filepath.Join(dir, "REPORT.md"))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range f.Charts {
		keys = append(keys, c.Key)
		payloads := 0
		if len(c.Fresh) > 0 {
			payloads++
		}
		if c.Scale != nil {
			payloads++
		}
		if len(c.Datapath) > 0 {
			payloads++
		}
		if payloads != 1 {
			t.Errorf("chart %s has %d kinds of figures, want 1", c.Key, payloads)
		}
		if link := "[![" + c.Alt + "](" + c.PNG + ")](" + c.SVG + ")"; !bytes.Contains(report, []byte(link)) {
			t.Errorf("report does not link chart %s as %s", c.Key, link)
		}
	}
	if want := []string{"fresh", "apply-ports", "apply-subnets", "datapath"}; f.Version != chartsVersion || !slices.Equal(keys, want) {
		t.Errorf("charts.json has version %d, charts %q; want %d, %q", f.Version, keys, chartsVersion, want)
	}
	// The killed iptables-nft point is a mark at the limit, not a line point.
	for _, c := range f.Charts {
		if s := c.Scale; s != nil && (!slices.Equal(s.Killed, []int{32768}) || s.LimitMS != 60000 || s.Limit != "60 s") {
			t.Errorf("chart %s: killed at %v, limit %v ms (%q); want [32768] at 60000 ms (\"60 s\")", c.Key, s.Killed, s.LimitMS, s.Limit)
		}
	}

	golden := filepath.Join("testdata", "charts.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !sameJSON(t, got, want) {
		t.Errorf("charts.json differs from %s (go test -update rewrites it; then run hack/benchplot's test)", golden)
	}
}

// sameJSON compares two JSON documents with numbers equal to 12 digits:
// a platform that fuses multiply-adds (arm64) may differ in the last bit
// of the synthetic figures.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(rounded(x), rounded(y))
}

func rounded(v any) any {
	switch v := v.(type) {
	case float64:
		f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64)
		return f
	case []any:
		for i := range v {
			v[i] = rounded(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = rounded(v[k])
		}
	}
	return v
}

// TestChartsFileOfASection: a run of one section without a chart still
// writes charts.json, with no charts, so the drawer draws nothing rather
// than failing or redrawing a previous run's figures.
func TestChartsFileOfASection(t *testing.T) {
	r := synthetic()
	r.Fresh, r.FreshBlocks, r.Scale, r.Datapath = nil, nil, nil, nil
	got, err := os.ReadFile(filepath.Join(written(t, r), "charts.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), `"charts": []`) {
		t.Errorf("charts.json of a run without charts:\n%s", got)
	}
}
