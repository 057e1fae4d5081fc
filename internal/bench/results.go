package main

import (
	"encoding/json"
	"math"
	"os"
	"sort"
	"time"
)

// Results is everything one `bench run` measured; results.json holds it and
// the report is drawn from it alone.
type Results struct {
	Machine  Machine   `json:"machine"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Quick    bool      `json:"quick"`
	Params   Params    `json:"params"`
	// Base is the flags of the configuration most sections apply, Changed
	// section 2's changed configuration.
	Base    []string `json:"base,omitempty"`
	Changed []string `json:"changed,omitempty"`
	// ParamsAssumed: results.json did not record Params (an older run);
	// the report quotes the code's current ones.
	ParamsAssumed bool `json:"params_assumed,omitempty"`

	Fresh       []Sample  `json:"fresh"`                  // 1: floor, ours, nft (replace idiom), nft (plain), iptables, gofloor, sim
	FreshBlocks []Sample  `json:"fresh_blocks,omitempty"` // 1, cross-check: the first four in back-to-back blocks
	Reapply     []Sample  `json:"reapply"`                // 2: in-namespace timer
	Scale       []Series  `json:"scale"`                  // 3
	Datapath    []Rate    `json:"datapath"`
	DPCheck     string    `json:"dp_check,omitempty"`
	Memory      []Sample  `json:"memory"` // 5: MS holds KiB of max RSS
	Binary      Binary    `json:"binary"`
	GoBench     []GoBench `json:"gobench"`
	// 7: the front ends measured (their keys), those not in this build,
	// and the section's rows.
	FrontEnds        []string `json:"front_ends,omitempty"`
	FrontEndsMissing []string `json:"front_ends_missing,omitempty"`
	FrontEndRows     []Sample `json:"front_end_rows,omitempty"`
	// 7: the two CNI plugins' binaries, when their rows were measured.
	CNIBinary         *Binary `json:"cni_binary,omitempty"`
	UpstreamCNIBinary *Binary `json:"upstream_cni_binary,omitempty"`
	// 8: the CNI node installers, ours first.
	Installers        []InstallerResult `json:"installers,omitempty"`
	InstallersMissing string            `json:"installers_missing,omitempty"`
	Notes             []string          `json:"notes,omitempty"`
	Errors            []string          `json:"errors,omitempty"`
	Elapsed           Duration          `json:"elapsed"`
	Sections          []TimeSpent       `json:"sections"`
}

// TimeSpent is the wall time of one section of the run.
type TimeSpent struct {
	Name string   `json:"name"`
	Took Duration `json:"took"`
}

// Machine describes where the numbers came from.
type Machine struct {
	CPU        string `json:"cpu"`
	Cores      int    `json:"cores"`
	MemTotal   string `json:"mem_total"`
	Kernel     string `json:"kernel"`
	OS         string `json:"os"`
	Go         string `json:"go"`
	Nft        string `json:"nft"`
	Iptables   string `json:"iptables"`
	Hyperfine  string `json:"hyperfine"`
	LoadBefore string `json:"load_before"`
	LoadAfter  string `json:"load_after"`
	Commit     string `json:"commit"`
}

// Sample is repeated measurements of one thing. MS are milliseconds (KiB for
// memory samples).
type Sample struct {
	Key   string    `json:"key"`
	Label string    `json:"label"`
	MS    []float64 `json:"ms"`
	// Gen is the number of nf_tables transactions each run committed.
	Gen      []int  `json:"gen,omitempty"`
	TimedOut bool   `json:"timed_out,omitempty"`
	Skipped  string `json:"skipped,omitempty"`
	Err      string `json:"err,omitempty"`
}

// Series is one scale axis: a list size per point, one sample per installer.
type Series struct {
	Axis   string  `json:"axis"` // "ports" or "subnets"
	Points []Point `json:"points"`
}

// Point is one list size.
type Point struct {
	Label   string   `json:"label"`
	X       int      `json:"x"` // entries (ports) or subnets per family
	Samples []Sample `json:"samples"`
}

// Rate is one datapath configuration: connections per second per run.
type Rate struct {
	Key     string    `json:"key"`
	Label   string    `json:"label"`
	PerSec  []float64 `json:"per_sec"`
	Conns   []int     `json:"conns"`
	Errors  int       `json:"errors"`
	Install float64   `json:"install_ms"`
	Err     string    `json:"err,omitempty"`
}

// InstallerResult is one CNI node installer of section 8: its reaction
// times (conflist rewritten -> entry back; token rotated -> new
// kubeconfig), its binary and its peak RSS.
type InstallerResult struct {
	Key       string `json:"key"`
	Label     string `json:"label"`
	Conflist  Sample `json:"conflist"`
	Token     Sample `json:"token"`
	Binary    Binary `json:"binary"`
	MaxRSSKiB int64  `json:"max_rss_kib"`
}

// Binary is section 5's size figure.
type Binary struct {
	Path   string `json:"path"`
	Bytes  int64  `json:"bytes"`
	Static bool   `json:"static"`
}

// GoBench is one Go benchmark, its runs' values per unit.
type GoBench struct {
	Name   string               `json:"name"`
	Values map[string][]float64 `json:"values"`
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func minOf(xs []float64) float64 {
	m := math.Inf(1)
	for _, x := range xs {
		m = math.Min(m, x)
	}
	return m
}

func maxOf(xs []float64) float64 {
	m := math.Inf(-1)
	for _, x := range xs {
		m = math.Max(m, x)
	}
	return m
}

func (s *Sample) Median() float64 { return median(s.MS) }
func (s *Sample) Min() float64    { return minOf(s.MS) }
func (s *Sample) Max() float64    { return maxOf(s.MS) }

// ok says whether the sample has figures to show.
func (s *Sample) ok() bool { return len(s.MS) > 0 && s.Err == "" && !s.TimedOut && s.Skipped == "" }

// find returns the element of xs with the key, or nil.
func find[T interface{ key() string }](xs []T, key string) *T {
	for i := range xs {
		if xs[i].key() == key {
			return &xs[i]
		}
	}
	return nil
}

func (s Sample) key() string { return s.Key }
func (r Rate) key() string   { return r.Key }

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func readResults(path string) (*Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Results
	return &r, json.Unmarshal(b, &r)
}
