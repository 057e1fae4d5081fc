package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// What charts.json holds, as internal/bench/charts.go writes it: the two
// programs are in different modules, and the measurer's types are in an
// internal package of the other, so this side declares what it reads and
// refuses anything else. internal/bench/testdata/charts.json, which the
// measurer's test keeps equal to its output, is drawn by this package's
// test: a change on one side fails a test until the other follows.

// chartsVersion is the version of charts.json this program draws.
const chartsVersion = 1

type chartsFile struct {
	Version int         `json:"version"`
	Charts  []chartData `json:"charts"`
}

// chart names a chart and its files.
type chart struct {
	Key string `json:"key"`
	PNG string `json:"png"`
	SVG string `json:"svg"`
	Alt string `json:"alt"`
}

// chartData is one chart; exactly one of Fresh, Scale and Datapath is set.
type chartData struct {
	chart
	Fresh    []freshBar  `json:"fresh,omitempty"`
	Scale    *scaleChart `json:"scale,omitempty"`
	Datapath []rateBar   `json:"datapath,omitempty"`
}

// freshBar is one stacked bar of the fresh apply, milliseconds: ours as
// the floor, Go's start, our work and the commit (or Rest, what the run
// could not split); the others as the floor and Other.
type freshBar struct {
	Name    string  `json:"name"`
	Kind    string  `json:"kind"` // ours, nft, iptables
	Floor   float64 `json:"floor_ms"`
	GoStart float64 `json:"go_start_ms"`
	Work    float64 `json:"work_ms"`
	Commit  float64 `json:"commit_ms"`
	Rest    float64 `json:"rest_ms"`
	Other   float64 `json:"other_ms"`
	Total   float64 `json:"total_ms"`
	Text    string  `json:"text"`
}

// scaleChart is apply time against list size on one axis.
type scaleChart struct {
	Axis    string      `json:"axis"` // ports or subnets
	Sizes   []int       `json:"sizes"`
	Lines   []scaleLine `json:"lines"`
	Killed  []int       `json:"killed"`
	LimitMS float64     `json:"limit_ms"`
	Limit   string      `json:"limit"`
}

type scaleLine struct {
	Key    string   `json:"key"` // a key of installerLook
	Points []spread `json:"points"`
}

// spread is a median with its minimum and maximum at X.
type spread struct {
	X      float64 `json:"x"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// rateBar is one datapath configuration; Runs 0: not measured.
type rateBar struct {
	Key    string  `json:"key"`
	Runs   int     `json:"runs"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Text   string  `json:"text"`
}

// readCharts reads charts.json, refusing a field or a version it does not
// know: a chart drawn from half-understood figures would be wrong quietly.
func readCharts(path string) (*chartsFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f chartsFile
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the JSON document")
	}
	if f.Version != chartsVersion {
		return nil, fmt.Errorf("version %d, this program draws version %d (rebuild it from the same commit as the measurer)", f.Version, chartsVersion)
	}
	for _, c := range f.Charts {
		n := 0
		for _, set := range []bool{len(c.Fresh) > 0, c.Scale != nil, len(c.Datapath) > 0} {
			if set {
				n++
			}
		}
		if n != 1 || c.Key == "" || !plainName(c.PNG) || !plainName(c.SVG) {
			return nil, fmt.Errorf("chart %q: want a key, two file names in the directory and one kind of figures", c.Key)
		}
	}
	return &f, nil
}

// plainName: a file name in the output directory, nothing above or below it.
func plainName(name string) bool {
	return name != "" && name != "." && name != ".." && filepath.Base(name) == name
}
