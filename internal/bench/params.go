package main

import "time"

// Params are the run's repetition counts, bounds and limits. They are set
// here once; the sections measure with them, results.json records them, and
// the report quotes them from there, so its prose cannot drift from what
// was run.
type Params struct {
	// Section 1: runs of each command, of the slow iptables-nft sequence,
	// and warm-up passes, interleaved by this tool's own loop.
	FreshRuns     int `json:"fresh_runs"`
	FreshSlowRuns int `json:"fresh_slow_runs"`
	FreshWarmup   int `json:"fresh_warmup"`
	// Section 1's cross-check: hyperfine rounds, each a block of BlockRuns
	// runs per command after BlockWarmup warm-up runs.
	BlockRounds int `json:"block_rounds"`
	BlockRuns   int `json:"block_runs"`
	BlockWarmup int `json:"block_warmup"`
	// Section 2: runs of every row, in rounds.
	ReapplyRuns int `json:"reapply_runs"`
	// Sections 1 and 2: a run taking longer than this fails.
	RunTimeout Duration `json:"run_timeout"`
	// Section 3: runs per point, and at points above ScaleLargeAbove
	// entries; iptables-nft does as many as fit in IptBudget, and a run of
	// it that takes longer than IptLimit is killed and stops its series.
	ScaleRuns        int      `json:"scale_runs"`
	ScaleRunsLargest int      `json:"scale_runs_largest"`
	ScaleLargeAbove  int      `json:"scale_large_above"`
	IptBudget        Duration `json:"ipt_budget"`
	IptLimit         Duration `json:"ipt_limit"`
	// Section 4: rounds, and each run's bounds (whichever comes first);
	// every configuration has one warm-up run with the Warm bounds first.
	DPRounds    int      `json:"dp_rounds"`
	DPRun       Duration `json:"dp_run"`
	DPMaxConns  int      `json:"dp_max_conns"`
	DPWarmRun   Duration `json:"dp_warm_run"`
	DPWarmConns int      `json:"dp_warm_conns"`
	// Section 5: runs of each configuration under GNU time.
	MemRuns int `json:"mem_runs"`
	// Section 7: runs of every row, the rows in turn.
	FrontEndRuns int `json:"front_end_runs"`
	// Section 8: rounds of each installer reaction (conflist, token).
	InstallerRuns int `json:"installer_runs,omitempty"`
	// Section 6: go test -count and -benchtime.
	GoBenchCount int      `json:"gobench_count"`
	GoBenchTime  Duration `json:"gobench_time"`
}

// params are the full run's figures, or a quick smoke test's.
func params(quick bool) Params {
	p := Params{
		FreshRuns: 200, FreshSlowRuns: 60, FreshWarmup: 3,
		BlockRounds: 5, BlockRuns: 20, BlockWarmup: 2,
		ReapplyRuns: 50, RunTimeout: Duration{time.Minute},
		ScaleRuns: 15, ScaleRunsLargest: 9, ScaleLargeAbove: 4096,
		IptBudget: Duration{20 * time.Second}, IptLimit: Duration{60 * time.Second},
		DPRounds: 30, DPRun: Duration{500 * time.Millisecond}, DPMaxConns: 30000,
		DPWarmRun: Duration{200 * time.Millisecond}, DPWarmConns: 2000,
		MemRuns: 5, FrontEndRuns: 20, InstallerRuns: 200,
		GoBenchCount: 5, GoBenchTime: Duration{300 * time.Millisecond},
	}
	if quick {
		p.FreshRuns, p.FreshSlowRuns, p.FreshWarmup = 5, 3, 1
		p.BlockRounds, p.BlockRuns = 1, 3
		p.ReapplyRuns = 3
		p.ScaleRuns, p.ScaleRunsLargest = 1, 1
		p.DPRounds = 2
		p.MemRuns = 1
		p.FrontEndRuns = 2
		p.InstallerRuns = 5
		p.GoBenchCount, p.GoBenchTime = 1, Duration{50 * time.Millisecond}
	}
	return p
}

// scaleRuns is section 3's repetitions at a point of x entries.
func (p Params) scaleRuns(x int) int {
	if x > p.ScaleLargeAbove {
		return p.ScaleRunsLargest
	}
	return p.ScaleRuns
}
