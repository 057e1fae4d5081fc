package main

import (
	"strings"
	"testing"
)

// TestReportInstaller: section 8 with both installers gives both rows and
// the ratios; with ours alone it says how to measure upstream's; without
// the section, no heading.
func TestReportInstaller(t *testing.T) {
	r := synthetic()
	r.Params.InstallerRuns = 3
	r.Installers = []InstallerResult{
		{Key: "ours", Label: "ours (`proxy-init-cni-install`)", Conflist: Sample{MS: []float64{1.4, 1.5, 1.6}}, Token: Sample{MS: []float64{2, 2.2, 2.4}},
			Binary: Binary{Path: "bin/proxy-init-cni-install", Bytes: 2920610, Static: true}, MaxRSSKiB: 8704},
		{Key: "upstream", Label: "upstream's `linkerd2-cni-install` (183e791)", Conflist: Sample{MS: []float64{1, 1.1, 1.2}}, Token: Sample{MS: []float64{1.8, 2.2, 2.6}},
			Binary: Binary{Path: "/tmp/up", Bytes: 3678370, Static: true}, MaxRSSKiB: 8806},
	}
	report := renderChecked(t, r)
	for _, want := range []string{
		"## 8. CNI node installer", "3 rounds",
		"| ours (`proxy-init-cni-install`) | **1.50** [1.40, 1.60] | **2.20** [2.00, 2.40] | 2.92 MB | 8.5 MiB |",
		"| upstream's `linkerd2-cni-install` (183e791) | **1.10** [1.00, 1.20] | **2.20** [1.80, 2.60] | 3.68 MB | 8.6 MiB |",
		"conflist 0.73x, token 1.00x",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	r.Installers = r.Installers[:1]
	r.InstallersMissing = "upstream's installer not measured in this run: set BENCH_UPSTREAM_CNI_INSTALL"
	report = renderChecked(t, r)
	if !strings.Contains(report, "- upstream's installer not measured in this run: set BENCH_UPSTREAM_CNI_INSTALL") || strings.Contains(report, "Upstream's median over ours") {
		t.Errorf("ours alone:\n%s", report[strings.Index(report, "## 8."):])
	}
	r.Installers, r.InstallersMissing = nil, ""
	if report = renderChecked(t, r); strings.Contains(report, "## 8.") {
		t.Error("section 8 rendered without results")
	}
}
