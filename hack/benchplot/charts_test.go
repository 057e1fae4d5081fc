package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// measurersFile is what internal/bench writes for a full synthetic run
// (its TestChartsFile keeps the file equal to its output): the handoff
// between the two modules, read here as a file.
const measurersFile = "../../internal/bench/testdata/charts.json"

// TestDrawsTheMeasurersFile: every chart the measurer lists is drawn from
// its charts.json under the names the report links, as a PNG wide enough
// for a dense screen and an SVG.
func TestDrawsTheMeasurersFile(t *testing.T) {
	dir := t.TempDir()
	if d := os.Getenv("BENCH_TEST_OUT"); d != "" { // to look at the charts
		dir = d
	}
	copyFile(t, measurersFile, filepath.Join(dir, "charts.json"))
	if err := run(dir); err != nil {
		t.Fatal(err)
	}
	f, err := readCharts(measurersFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Charts) != 4 {
		t.Fatalf("the measurer's file has %d charts, want fresh, two scale axes and datapath", len(f.Charts))
	}
	for _, c := range f.Charts {
		b, err := os.ReadFile(filepath.Join(dir, c.PNG))
		if err != nil {
			t.Error(err)
			continue
		}
		if img, err := png.Decode(bytes.NewReader(b)); err != nil {
			t.Errorf("%s: %v", c.PNG, err)
		} else if w := img.Bounds().Dx(); w < 1000 {
			t.Errorf("%s is %d pixels wide", c.PNG, w)
		}
		svg, err := os.ReadFile(filepath.Join(dir, c.SVG))
		if err != nil {
			t.Error(err)
		} else if !bytes.Contains(svg, []byte("<svg")) {
			t.Errorf("%s is no SVG", c.SVG)
		}
	}
}

// TestDrawsTheCommittedFile: bench/charts.json, from the last make bench
// that was committed, still draws.
func TestDrawsTheCommittedFile(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, "../../bench/charts.json", filepath.Join(dir, "charts.json"))
	if err := run(dir); err != nil {
		t.Fatal(err)
	}
}

// TestRefusesWhatItDoesNotKnow: a version, a field or a file name this
// program does not know is an error naming it, and nothing is drawn.
func TestRefusesWhatItDoesNotKnow(t *testing.T) {
	good, err := os.ReadFile(measurersFile)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct{ old, new, want string }{
		"version":   {`"version": 1`, `"version": 2`, "version 2"},
		"field":     {`"median"`, `"p50"`, `unknown field "p50"`},
		"file name": {`"png": "fresh.png"`, `"png": "../fresh.png"`, `chart "fresh"`},
	} {
		t.Run(name, func(t *testing.T) {
			bad := strings.Replace(string(good), c.old, c.new, 1)
			if bad == string(good) {
				t.Fatalf("%q is not in %s", c.old, measurersFile)
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "charts.json"), []byte(bad), 0o644); err != nil {
				t.Fatal(err)
			}
			err := run(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("run = %v, want an error with %q", err, c.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("%d files in the directory after a refusal, want charts.json alone", len(entries))
			}
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
