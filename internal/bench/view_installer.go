package main

import "slices"

// installerView is section 8 for the template.
type installerView struct {
	Rows    []installerRow
	Missing string
	// Ratios of upstream's medians to ours (> 1: ours reacts faster);
	// zero when upstream was not measured.
	ConflistRatio, TokenRatio float64
}

type installerRow struct {
	Label            string
	Conflist, Token  quantiles
	BinaryMB, RSSMiB float64
	Static           bool
	Runs             int
}

type quantiles struct{ P10, P50, P90 float64 }

func quantilesOf(ms []float64) quantiles {
	if len(ms) == 0 {
		return quantiles{}
	}
	s := slices.Clone(ms)
	slices.Sort(s)
	q := func(p float64) float64 { return s[int(p*float64(len(s)-1)+0.5)] }
	return quantiles{q(0.1), median(s), q(0.9)}
}

func newInstallerView(res *Results) *installerView {
	if len(res.Installers) == 0 && res.InstallersMissing == "" {
		return nil
	}
	v := &installerView{Missing: res.InstallersMissing}
	for _, in := range res.Installers {
		v.Rows = append(v.Rows, installerRow{
			Label: in.Label, Conflist: quantilesOf(in.Conflist.MS), Token: quantilesOf(in.Token.MS),
			BinaryMB: float64(in.Binary.Bytes) / 1e6, RSSMiB: float64(in.MaxRSSKiB) / 1024, Static: in.Binary.Static,
			Runs: len(in.Conflist.MS),
		})
	}
	if len(v.Rows) == 2 && v.Rows[0].Conflist.P50 > 0 && v.Rows[0].Token.P50 > 0 {
		v.ConflistRatio = v.Rows[1].Conflist.P50 / v.Rows[0].Conflist.P50
		v.TokenRatio = v.Rows[1].Token.P50 / v.Rows[0].Token.P50
	}
	return v
}
