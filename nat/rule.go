package nat

import (
	"fmt"
	"strings"
)

// Comment is the rule's comment as the kernel stores it and nft lists it:
// CommentPrefix then the rule's name.
func (r *Rule) Comment() string { return CommentPrefix + r.Name }

// Text renders the rule as nft lists it, with zero counters (as a fresh
// install lists), or "# unrecognised rule: ..." for a live rule that is not
// one of ours.
func (r *Rule) Text(f Family) string { return r.text(f, false) }

// text renders the rule as nft lists it; withCounters prints live values.
func (r *Rule) text(f Family, withCounters bool) string {
	if r.Unrecognised != "" {
		return "# unrecognised rule: " + r.Unrecognised
	}
	var b strings.Builder
	for _, m := range r.Matches {
		b.WriteString(m.text(f))
		b.WriteByte(' ')
	}
	if withCounters {
		fmt.Fprintf(&b, "counter packets %d bytes %d ", r.Counter.Packets, r.Counter.Bytes)
	} else {
		b.WriteString("counter packets 0 bytes 0 ")
	}
	b.WriteString(r.Verdict.text())
	fmt.Fprintf(&b, " comment %q", r.Comment())
	return b.String()
}

// MatchText is m in nft syntax, for a table of family f.
func MatchText(m Match, f Family) string { return m.text(f) }

// VerdictText is v in nft syntax.
func VerdictText(v Verdict) string { return v.text() }
