package nat

import (
	"encoding/binary"
	"fmt"

	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// A Verdict ends a rule. Like matches, each kind lowers, renders and decodes
// itself.
type Verdict interface {
	exprs(f Family) []expr.Any
	text() string
}

var verdictDecoders = []func(Family, []expr.Any) (Verdict, int){
	decodeRedirect,
	decodeVerdict,
}

// Return goes back to the calling chain: the packet is left alone by us.
type Return struct{}

func (Return) exprs(Family) []expr.Any { return []expr.Any{&expr.Verdict{Kind: expr.VerdictReturn}} }
func (Return) text() string            { return "return" }

// Jump continues in another chain of the same table.
type Jump struct{ Chain string }

func (j Jump) exprs(Family) []expr.Any {
	return []expr.Any{&expr.Verdict{Kind: expr.VerdictJump, Chain: j.Chain}}
}
func (j Jump) text() string { return "jump " + j.Chain }

func decodeVerdict(f Family, ex []expr.Any) (Verdict, int) {
	v, ok := ex[0].(*expr.Verdict)
	if !ok {
		return nil, 0
	}
	switch {
	case v.Kind == expr.VerdictReturn:
		return Return{}, 1
	case v.Kind == expr.VerdictJump:
		return Jump{Chain: v.Chain}, 1
	}
	return nil, 0
}

// Redirect sends the packet to a local port ("redirect to :4143"); the kernel
// picks the primary address of the incoming interface, or loopback for
// locally generated traffic.
type Redirect struct{ Port uint16 }

func (r Redirect) exprs(Family) []expr.Any {
	return []expr.Any{
		&expr.Immediate{Register: reg1, Data: binary.BigEndian.AppendUint16(nil, r.Port)},
		&expr.Redir{RegisterProtoMin: reg1, RegisterProtoMax: reg1, Flags: unix.NF_NAT_RANGE_PROTO_SPECIFIED},
	}
}

func (r Redirect) text() string { return fmt.Sprintf("redirect to :%d", r.Port) }

func decodeRedirect(f Family, ex []expr.Any) (Verdict, int) {
	imm, ok := ex[0].(*expr.Immediate)
	if !ok || len(imm.Data) != 2 {
		return nil, 0
	}
	r := Redirect{Port: binary.BigEndian.Uint16(imm.Data)}
	if exprsEqual(f, ex, r.exprs(f)) {
		return r, 2
	}
	return nil, 0
}
