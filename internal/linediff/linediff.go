// Package linediff is the line diff nat shows a RulesetDiff with and the
// tests compare listings and golden files with: a detail of presentation,
// not part of nat's API.
package linediff

import (
	"fmt"
	"strings"
)

// Diff returns a line diff of two texts ("" when equal): lines only in want
// start with "-", lines only in got with "+", and unchanged lines with " ".
// Common leading and trailing lines are trimmed first, and a middle too large
// for a quadratic LCS (a listing of huge sets) is shown as removed-then-added.
func Diff(want, got string) string {
	if want == got {
		return ""
	}
	a, b := strings.Split(want, "\n"), strings.Split(got, "\n")
	var out strings.Builder
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	// A few lines of context around the change are enough to place it.
	for _, l := range a[max(0, pre-3):pre] {
		fmt.Fprintf(&out, " %s\n", l)
	}
	diffMiddle(&out, a[pre:len(a)-suf], b[pre:len(b)-suf])
	for _, l := range a[len(a)-suf : min(len(a), len(a)-suf+3)] {
		fmt.Fprintf(&out, " %s\n", l)
	}
	return out.String()
}

const maxDiffCells = 4 << 20

func diffMiddle(out *strings.Builder, a, b []string) {
	if (len(a)+1)*(len(b)+1) > maxDiffCells {
		for _, l := range a {
			fmt.Fprintf(out, "-%s\n", l)
		}
		for _, l := range b {
			fmt.Fprintf(out, "+%s\n", l)
		}
		return
	}
	lcs := make([][]int32, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int32, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			fmt.Fprintf(out, " %s\n", a[i])
			i, j = i+1, j+1
		case j < len(b) && (i == len(a) || lcs[i][j+1] >= lcs[i+1][j]):
			fmt.Fprintf(out, "+%s\n", b[j])
			j++
		default:
			fmt.Fprintf(out, "-%s\n", a[i])
			i++
		}
	}
}
