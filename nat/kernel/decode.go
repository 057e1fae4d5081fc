//go:build linux

package kernel

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/proxy-init/netlink-native/nat"
	"golang.org/x/sys/unix"
)

// decodeRule turns a live rule's expressions and user data back into a
// nat.Rule. Anything that is not exactly what some plan could have produced
// yields a Rule with Unrecognised set, so that verify reports it instead of
// hiding it. Each decoder guesses a candidate match from the expressions and
// accepts it only if lowering the candidate gives the same kernel encoding,
// so decoding can never be looser than lowering.
func decodeRule(f nat.Family, ex []expr.Any, udata []byte) *nat.Rule {
	r := &nat.Rule{}
	comment, _ := userdata.GetString(udata, userdata.TypeComment)
	name, ours := strings.CutPrefix(comment, nat.CommentPrefix)
	rest, counted := ex, false
	for len(rest) > 0 && !counted {
		if c, ok := rest[0].(*expr.Counter); ok {
			r.Counter = nat.Counter{Packets: c.Packets, Bytes: c.Bytes}
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

// matchDecoders are tried in order at each position of a live rule; longer
// patterns come first so "tcp dport" wins over its own l4proto dependency.
var matchDecoders = []func(nat.Family, []expr.Any) (nat.Match, int){
	decodeDPortInSet,
	decodeL4ProtoTCP,
	decodeAddrInSet,
	decodeSocketID,
	decodeOIFName,
}

var verdictDecoders = []func(nat.Family, []expr.Any) (nat.Verdict, int){
	decodeRedirect,
	decodeVerdict,
}

func decodeMatch(f nat.Family, ex []expr.Any) (nat.Match, int) {
	for _, dec := range matchDecoders {
		if m, n := dec(f, ex); n > 0 {
			return m, n
		}
	}
	return nil, 0
}

// accept returns m and the number of expressions it spans if ex starts with
// exactly m's lowering.
func accept(f nat.Family, ex []expr.Any, m nat.Match) (nat.Match, int) {
	want := lowerMatch(m, f)
	if exprsEqual(f, ex, want) {
		return m, len(want)
	}
	return nil, 0
}

func decodeL4ProtoTCP(f nat.Family, ex []expr.Any) (nat.Match, int) {
	return accept(f, ex, nat.L4ProtoTCP{})
}

func decodeDPortInSet(f nat.Family, ex []expr.Any) (nat.Match, int) {
	if set, ok := lookupSet(ex, 3); ok {
		return accept(f, ex, nat.DPortInSet{Set: set})
	}
	return nil, 0
}

func decodeAddrInSet(f nat.Family, ex []expr.Any) (nat.Match, int) {
	set, ok := lookupSet(ex, 1)
	if !ok {
		return nil, 0
	}
	for _, dest := range []bool{false, true} {
		if m, n := accept(f, ex, nat.AddrInSet{Dest: dest, Set: set}); n > 0 {
			return m, n
		}
	}
	return nil, 0
}

func decodeSocketID(f nat.Family, ex []expr.Any) (nat.Match, int) {
	if len(ex) < 2 {
		return nil, 0
	}
	meta, ok1 := ex[0].(*expr.Meta)
	cmp, ok2 := ex[1].(*expr.Cmp)
	if !ok1 || !ok2 || len(cmp.Data) != 4 {
		return nil, 0
	}
	return accept(f, ex, nat.SocketID{Group: meta.Key == expr.MetaKeySKGID, ID: binary.NativeEndian.Uint32(cmp.Data)})
}

func decodeOIFName(f nat.Family, ex []expr.Any) (nat.Match, int) {
	if len(ex) < 2 {
		return nil, 0
	}
	cmp, ok := ex[1].(*expr.Cmp)
	if !ok || len(cmp.Data) != unix.IFNAMSIZ {
		return nil, 0
	}
	return accept(f, ex, nat.OIFName{Name: string(bytes.TrimRight(cmp.Data, "\x00"))})
}

func decodeVerdict(f nat.Family, ex []expr.Any) (nat.Verdict, int) {
	v, ok := ex[0].(*expr.Verdict)
	if !ok {
		return nil, 0
	}
	switch v.Kind {
	case expr.VerdictReturn:
		return nat.Return{}, 1
	case expr.VerdictJump:
		return nat.Jump{Chain: v.Chain}, 1
	}
	return nil, 0
}

func decodeRedirect(f nat.Family, ex []expr.Any) (nat.Verdict, int) {
	imm, ok := ex[0].(*expr.Immediate)
	if !ok || len(imm.Data) != 2 {
		return nil, 0
	}
	r := nat.Redirect{Port: binary.BigEndian.Uint16(imm.Data)}
	if want := lowerVerdict(r); exprsEqual(f, ex, want) {
		return r, len(want)
	}
	return nil, 0
}

// lookupSet returns the set name of ex[i] when it is a lookup expression.
func lookupSet(ex []expr.Any, i int) (string, bool) {
	if len(ex) <= i {
		return "", false
	}
	l, ok := ex[i].(*expr.Lookup)
	if !ok {
		return "", false
	}
	return l.SetName, true
}

// exprsEqual reports whether the live expressions start with want, comparing
// their kernel encodings so that every attribute counts, not only those a
// decoder happens to look at. Set IDs are transaction-local and ignored.
func exprsEqual(f nat.Family, live, want []expr.Any) bool {
	if len(live) < len(want) {
		return false
	}
	for i, w := range want {
		l := live[i]
		if lookup, ok := l.(*expr.Lookup); ok {
			c := *lookup
			c.SetID = 0
			l = &c
		}
		a, err1 := expr.Marshal(byte(f), l)
		b, err2 := expr.Marshal(byte(f), w)
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			return false
		}
	}
	return true
}

func unrecognised(ex []expr.Any, comment string) *nat.Rule {
	kinds := make([]string, len(ex))
	for i, e := range ex {
		kinds[i] = exprText(e)
	}
	return &nat.Rule{Unrecognised: withComment(strings.Join(kinds, " "), comment)}
}

// exprText describes a decoded expression for an unrecognised rule.
func exprText(e expr.Any) string {
	return strings.TrimPrefix(fmt.Sprintf("%T%+v", e, e), "*expr.")
}

func withComment(s, comment string) string {
	if comment != "" {
		s += fmt.Sprintf(" comment %q", comment)
	}
	return s
}
