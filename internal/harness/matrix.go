package harness

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
)

// Format renders the rows as an aligned table, one line per flow, so a
// reader sees at a glance which flow differs and on which side. Known
// differences of the reference are numbered and explained under the table.
func Format(rows []Row) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "CONFIG\tFLOW\tREFERENCE\tOURS\tEXPECTED\tRESULT")
	var notes, oursOnly []string
	failed := 0
	prev := ""
	for _, r := range rows {
		ref := r.Ref
		if ref == "" {
			ref = "-"
		}
		want := r.Want
		if r.RefWant != "" {
			n := slices.Index(notes, r.RefWhy)
			if n < 0 {
				notes = append(notes, r.RefWhy)
				n = len(notes) - 1
			}
			want += fmt.Sprintf(" (ref: %s [%d])", r.RefWant, n+1)
		}
		res := "ok"
		if !r.OK {
			res = "FAIL: " + r.Problem
			failed++
		}
		// The config name once per block keeps the table readable.
		name := r.Case
		if name == prev {
			name = ""
		}
		if name != "" && r.OursOnly != "" {
			oursOnly = append(oursOnly, r.Case+": "+r.OursOnly)
		}
		prev = r.Case
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", name, r.Flow, ref, r.Ours, want, res)
	}
	w.Flush()
	for i, n := range notes {
		fmt.Fprintf(&b, "[%d] known difference: %s\n", i+1, n)
	}
	for _, n := range oursOnly {
		fmt.Fprintf(&b, "reference not run (\"-\") for %s\n", n)
	}
	fmt.Fprintf(&b, "%d flows, %d failed\n", len(rows), failed)
	return b.String()
}
