package nfnl

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Expr is one expression of a rule as the kernel lists it: its name and,
// when google/nftables' codec knows the name and decodes its attributes,
// the decoded expression. Every expression the kernel holds is one Expr, so
// a rule never reads shorter than it is.
type Expr struct {
	Name  string
	Value expr.Any // nil when not decoded
	Err   error    // why not
}

// ErrUnknownExpr is the Err of an expression whose name google/nftables'
// codec does not know.
var ErrUnknownExpr = errors.New("unknown expression")

// decodeExprs decodes an NFTA_RULE_EXPRESSIONS list: NFTA_LIST_ELEM nests of
// NFTA_EXPR_NAME and NFTA_EXPR_DATA, the layout AddRule writes.
func decodeExprs(family uint8, b []byte) ([]Expr, error) {
	var out []Expr
	err := walkAttrs(b, func(typ uint16, elem []byte) error {
		if typ != unix.NFTA_LIST_ELEM {
			return nil
		}
		var e Expr
		var data []byte
		err := walkAttrs(elem, func(typ uint16, v []byte) error {
			switch typ {
			case unix.NFTA_EXPR_NAME:
				if i := bytes.IndexByte(v, 0); i >= 0 {
					v = v[:i]
				}
				e.Name = string(v)
			case unix.NFTA_EXPR_DATA:
				data = v
			}
			return nil
		})
		if err != nil {
			return err
		}
		e.Value, e.Err = decodeExpr(family, e.Name, data)
		out = append(out, e)
		return nil
	})
	return out, err
}

// decodeExpr decodes one expression's attributes with google/nftables'
// expr.Unmarshal into the type for its name. The codec is theirs; choosing
// the type by name is ours, because their dump parser, which does it, is not
// exported and drops what it cannot decode.
func decodeExpr(family uint8, name string, data []byte) (e expr.Any, err error) {
	e = exprOfName(name)
	if e == nil {
		return nil, ErrUnknownExpr
	}
	// Their decoders index into attributes without checking every length;
	// a malformed expression written by another tool must not end the
	// process, only make the rule unrecognised.
	defer func() {
		if r := recover(); r != nil {
			e, err = nil, fmt.Errorf("decode %s: %v", name, r)
		}
	}()
	if err := expr.Unmarshal(family, data, e); err != nil {
		return nil, err
	}
	// A verdict is an immediate into the verdict register, with no data
	// value (google/nftables reads it the same way).
	if imm, ok := e.(*expr.Immediate); ok && imm.Register == unix.NFT_REG_VERDICT && len(imm.Data) == 0 {
		v := &expr.Verdict{}
		if err := expr.Unmarshal(family, data, v); err != nil {
			return nil, err
		}
		return v, nil
	}
	return e, nil
}

// exprOfName is a new expression of the type for a kernel expression name,
// nil for a name google/nftables v0.3.0 does not decode in a dump (byteorder,
// rt, socket, tproxy, ... among others: their Unmarshal is missing or not
// wired into its dump parser either).
func exprOfName(name string) expr.Any {
	switch name {
	case "meta":
		return &expr.Meta{}
	case "cmp":
		return &expr.Cmp{}
	case "payload":
		return &expr.Payload{}
	case "lookup":
		return &expr.Lookup{}
	case "counter":
		return &expr.Counter{}
	case "immediate":
		return &expr.Immediate{}
	case "redir":
		return &expr.Redir{}
	case "ct":
		return &expr.Ct{}
	case "range":
		return &expr.Range{}
	case "objref":
		return &expr.Objref{}
	case "bitwise":
		return &expr.Bitwise{}
	case "nat":
		return &expr.NAT{}
	case "limit":
		return &expr.Limit{}
	case "quota":
		return &expr.Quota{}
	case "dynset":
		return &expr.Dynset{}
	case "log":
		return &expr.Log{}
	case "exthdr":
		return &expr.Exthdr{}
	case "match":
		return &expr.Match{}
	case "target":
		return &expr.Target{}
	case "connlimit":
		return &expr.Connlimit{}
	case "queue":
		return &expr.Queue{}
	case "flow_offload":
		return &expr.FlowOffload{}
	case "reject":
		return &expr.Reject{}
	case "masq":
		return &expr.Masq{}
	case "hash":
		return &expr.Hash{}
	case "cthelper":
		return &expr.CtHelper{}
	case "synproxy":
		return &expr.SynProxy{}
	case "ctexpect":
		return &expr.CtExpect{}
	case "secmark":
		return &expr.SecMark{}
	case "cttimeout":
		return &expr.CtTimeout{}
	case "fib":
		return &expr.Fib{}
	case "numgen":
		return &expr.Numgen{}
	case "notrack":
		return &expr.Notrack{}
	}
	return nil
}
