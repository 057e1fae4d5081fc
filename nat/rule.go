package nat

import (
	"fmt"
	"strings"

	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
)

// Exprs lowers the rule to the expressions the kernel stores: the matches,
// a counter, then the verdict.
func (r *Rule) Exprs(f Family) []expr.Any {
	var ex []expr.Any
	for _, m := range r.Matches {
		ex = append(ex, m.exprs(f)...)
	}
	ex = append(ex, &expr.Counter{})
	return append(ex, r.Verdict.exprs(f)...)
}

// UserData is the rule's comment in the TLV format nft reads.
func (r *Rule) UserData() []byte {
	return userdata.AppendString(nil, userdata.TypeComment, CommentPrefix+r.Name)
}

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
	fmt.Fprintf(&b, " comment %q", CommentPrefix+r.Name)
	return b.String()
}

// DecodeRule turns a live rule's expressions and user data back into a Rule.
// Anything that is not exactly what some plan could have produced yields a
// Rule with Unrecognised set, so that verify reports it instead of hiding it.
func DecodeRule(f Family, ex []expr.Any, udata []byte) *Rule {
	r := &Rule{}
	comment, _ := userdata.GetString(udata, userdata.TypeComment)
	name, ours := strings.CutPrefix(comment, CommentPrefix)
	rest, counted := ex, false
	for len(rest) > 0 && !counted {
		if c, ok := rest[0].(*expr.Counter); ok {
			r.Counter = Counter{Packets: c.Packets, Bytes: c.Bytes}
			rest, counted = rest[1:], true
			continue
		}
		m, n := decodeMatch(f, rest)
		if n == 0 {
			return unrecognised(ex, comment)
		}
		r.Matches = append(r.Matches, m)
		rest = rest[n:]
	}
	if !counted || len(rest) == 0 {
		return unrecognised(ex, comment)
	}
	for _, dec := range verdictDecoders {
		if v, n := dec(f, rest); n == len(rest) {
			r.Verdict = v
			break
		}
	}
	if r.Verdict == nil || !ours {
		return unrecognised(ex, comment)
	}
	r.Name = name
	return r
}

func decodeMatch(f Family, ex []expr.Any) (Match, int) {
	for _, dec := range matchDecoders {
		if m, n := dec(f, ex); n > 0 {
			return m, n
		}
	}
	return nil, 0
}

func unrecognised(ex []expr.Any, comment string) *Rule {
	kinds := make([]string, len(ex))
	for i, e := range ex {
		kinds[i] = fmt.Sprintf("%T%+v", e, e)
		kinds[i] = strings.TrimPrefix(kinds[i], "*expr.")
	}
	s := strings.Join(kinds, " ")
	if comment != "" {
		s += fmt.Sprintf(" comment %q", comment)
	}
	return &Rule{Unrecognised: s}
}
