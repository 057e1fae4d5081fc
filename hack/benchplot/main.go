// Command benchplot draws the charts of the benchmark report (make bench)
// with gonum.org/v1/plot, which is why it lives in the hack/ module: the
// product's module never has the plotting library in its graph.
//
//	benchplot -out DIR    draw every chart DIR/charts.json lists into DIR
//
// The measuring program, internal/bench in the root module, computes every
// figure and writes charts.json beside results.json and REPORT.md; this
// program only turns those figures into pictures, each as PNG and SVG, under
// the file names the report links. hack/bench.sh runs it after the
// measurer.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	out := flag.String("out", "bench", "directory holding charts.json; the charts are written there")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintf(os.Stderr, "benchplot: %v\n", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	path := filepath.Join(dir, "charts.json")
	f, err := readCharts(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	drawn, err := drawCharts(f, dir)
	for _, c := range drawn {
		fmt.Fprintf(os.Stderr, "benchplot: wrote %s and %s\n", filepath.Join(dir, c.PNG), filepath.Join(dir, c.SVG))
	}
	return err
}
