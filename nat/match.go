package nat

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// A Match is one condition of a rule. Each kind lowers itself to native
// nf_tables expressions (with the dependencies nft would add, such as the
// l4proto check before a port), renders itself as nft would list it, and has
// a decoder beside it that recognises exactly the expressions it lowers to.
type Match interface {
	exprs(f Family) []expr.Any
	text(f Family) string
}

// matchDecoders are tried in order at each position of a live rule; longer
// patterns come first so "tcp dport" wins over its own l4proto dependency.
var matchDecoders = []func(Family, []expr.Any) (Match, int){
	decodeDPortInSet,
	decodeL4ProtoTCP,
	decodeAddrInSet,
	decodeSocketID,
	decodeOIFName,
}

const reg1 = unix.NFT_REG_1

// L4ProtoTCP matches TCP ("meta l4proto tcp").
type L4ProtoTCP struct{}

func (L4ProtoTCP) exprs(Family) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{unix.IPPROTO_TCP}},
	}
}

func (L4ProtoTCP) text(Family) string { return "meta l4proto tcp" }

func decodeL4ProtoTCP(f Family, ex []expr.Any) (Match, int) {
	if exprsEqual(f, ex, L4ProtoTCP{}.exprs(f)) {
		return L4ProtoTCP{}, 2
	}
	return nil, 0
}

// DPortInSet matches TCP whose destination port is in the named set
// ("tcp dport @set").
type DPortInSet struct{ Set string }

func (m DPortInSet) exprs(f Family) []expr.Any {
	return append(L4ProtoTCP{}.exprs(f),
		&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Lookup{SourceRegister: reg1, SetName: m.Set},
	)
}

func (m DPortInSet) text(Family) string { return "tcp dport @" + m.Set }

func decodeDPortInSet(f Family, ex []expr.Any) (Match, int) {
	if set, ok := lookupSet(ex, 3); ok {
		m := DPortInSet{Set: set}
		if exprsEqual(f, ex, m.exprs(f)) {
			return m, 4
		}
	}
	return nil, 0
}

// AddrInSet matches the source or destination address against the named set
// ("ip saddr @set", "ip6 daddr @set"). Our tables are per family, so no
// nfproto dependency is needed.
type AddrInSet struct {
	Dest bool
	Set  string
}

func (m AddrInSet) exprs(f Family) []expr.Any {
	off, n := uint32(12), uint32(4) // IPv4 saddr; daddr follows it
	if f == IPv6 {
		off, n = 8, 16
	}
	if m.Dest {
		off += n
	}
	return []expr.Any{
		&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: n},
		&expr.Lookup{SourceRegister: reg1, SetName: m.Set},
	}
}

func (m AddrInSet) text(f Family) string {
	dir := "saddr"
	if m.Dest {
		dir = "daddr"
	}
	return fmt.Sprintf("%s %s @%s", f, dir, m.Set)
}

func decodeAddrInSet(f Family, ex []expr.Any) (Match, int) {
	set, ok := lookupSet(ex, 1)
	if !ok {
		return nil, 0
	}
	for _, dest := range []bool{false, true} {
		m := AddrInSet{Dest: dest, Set: set}
		if exprsEqual(f, ex, m.exprs(f)) {
			return m, 2
		}
	}
	return nil, 0
}

// SocketID matches the uid or gid owning the local socket ("meta skuid 2102").
type SocketID struct {
	Group bool
	ID    uint32
}

func (m SocketID) exprs(Family) []expr.Any {
	key := expr.MetaKeySKUID
	if m.Group {
		key = expr.MetaKeySKGID
	}
	// uid_t is compared as the kernel stores it: host byte order.
	return []expr.Any{
		&expr.Meta{Key: key, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: binary.NativeEndian.AppendUint32(nil, m.ID)},
	}
}

func (m SocketID) text(Family) string {
	if m.Group {
		return fmt.Sprintf("meta skgid %d", m.ID)
	}
	return fmt.Sprintf("meta skuid %d", m.ID)
}

func decodeSocketID(f Family, ex []expr.Any) (Match, int) {
	if len(ex) < 2 {
		return nil, 0
	}
	meta, ok1 := ex[0].(*expr.Meta)
	cmp, ok2 := ex[1].(*expr.Cmp)
	if !ok1 || !ok2 || len(cmp.Data) != 4 {
		return nil, 0
	}
	m := SocketID{Group: meta.Key == expr.MetaKeySKGID, ID: binary.NativeEndian.Uint32(cmp.Data)}
	if exprsEqual(f, ex, m.exprs(f)) {
		return m, 2
	}
	return nil, 0
}

// OIFName matches the output interface name exactly ("oifname "lo"").
type OIFName struct{ Name string }

func (m OIFName) exprs(Family) []expr.Any {
	// A compare of the full 16-byte IFNAMSIZ buffer; a shorter compare would
	// be a prefix match ("lo*").
	name := make([]byte, unix.IFNAMSIZ)
	copy(name, m.Name)
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: name},
	}
}

func (m OIFName) text(Family) string { return fmt.Sprintf("oifname %q", m.Name) }

func decodeOIFName(f Family, ex []expr.Any) (Match, int) {
	if len(ex) < 2 {
		return nil, 0
	}
	cmp, ok := ex[1].(*expr.Cmp)
	if !ok || len(cmp.Data) != unix.IFNAMSIZ {
		return nil, 0
	}
	m := OIFName{Name: string(bytes.TrimRight(cmp.Data, "\x00"))}
	if exprsEqual(f, ex, m.exprs(f)) {
		return m, 2
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
func exprsEqual(f Family, live, want []expr.Any) bool {
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
