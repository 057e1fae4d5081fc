package nfnl

import (
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// View reads objects of one ruleset generation: every object a dump returns
// carries the generation the kernel was at when it wrote it (the low 16 bits,
// in nfgenmsg.res_id), and a View refuses, with ErrGenerationChanged, a dump
// holding an object of another generation than the one it was made for. A
// reader takes the generation first (Socket.Generation), reads through
// At(gen), and reads again if told the ruleset changed: what it got is then
// one consistent snapshot, whatever the number of dump requests.
type View struct {
	s       *Socket
	gen     uint32
	objects int
}

// At returns a view of the ruleset at generation gen.
func (s *Socket) At(gen uint32) *View { return &View{s: s, gen: gen} }

// Objects is how many objects the view's dumps have returned so far. With
// none, nothing was checked against the generation: a reader that found
// nothing confirms it by reading the generation again.
func (v *View) Objects() int { return v.objects }

func (v *View) dump(msgType int, family uint8, attrs []byte, each func(family uint8, ad *netlink.AttributeDecoder)) error {
	n, err := v.s.request(msgType, true, family, attrs, &v.gen, each)
	v.objects += n
	return err
}

// Table names a table of a family.
type Table struct {
	Family uint8
	Name   string
	Flags  uint32 // NFTA_TABLE_FLAGS, e.g. 1 for a dormant table
}

// Tables lists every table in the namespace in one dump request: in a fresh
// namespace an empty answer, far cheaper than a batch that the kernel would
// refuse with EEXIST (aborting a batch that appended rules to an existing
// chain waits for an RCU grace period, about 10 ms). It is not pinned to a
// generation; View.Tables is.
func (s *Socket) Tables() ([]Table, error) {
	return tables(func(each func(uint8, *netlink.AttributeDecoder)) error {
		_, err := s.request(unix.NFT_MSG_GETTABLE, true, unix.AF_UNSPEC, nil, nil, each)
		return err
	})
}

// Tables lists every table in the namespace, as Socket.Tables.
func (v *View) Tables() ([]Table, error) {
	return tables(func(each func(uint8, *netlink.AttributeDecoder)) error {
		return v.dump(unix.NFT_MSG_GETTABLE, unix.AF_UNSPEC, nil, each)
	})
}

func tables(dump func(each func(uint8, *netlink.AttributeDecoder)) error) ([]Table, error) {
	var out []Table
	if err := dump(func(family uint8, ad *netlink.AttributeDecoder) { out = append(out, decodeTable(family, ad)) }); err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	return out, nil
}

func decodeTable(family uint8, ad *netlink.AttributeDecoder) Table {
	t := Table{Family: family}
	for ad.Next() {
		switch ad.Type() {
		case unix.NFTA_TABLE_NAME:
			t.Name = ad.String()
		case unix.NFTA_TABLE_FLAGS:
			t.Flags = ad.Uint32()
		}
	}
	return t
}

// Set is a set as the kernel lists it, without its elements.
type Set struct {
	Name    string
	Flags   uint32 // NFT_SET_INTERVAL, NFT_SET_MAP, ...
	KeyType uint32 // nft's datatype id (TypeIPv4Addr, ...), several for a concatenation
	KeyLen  uint32
	Timeout bool // a default timeout is set (NFTA_SET_TIMEOUT)
}

// Sets lists the sets of one table, anonymous ones included, in one dump.
func (v *View) Sets(family uint8, table string) ([]Set, error) {
	var out []Set
	err := v.dump(unix.NFT_MSG_GETSET, family, appendStringAttr(nil, unix.NFTA_SET_TABLE, table), func(_ uint8, ad *netlink.AttributeDecoder) {
		out = append(out, decodeSet(ad))
	})
	if err != nil {
		return nil, fmt.Errorf("list sets of table %s: %w", table, err)
	}
	return out, nil
}

func decodeSet(ad *netlink.AttributeDecoder) Set {
	var s Set
	for ad.Next() {
		switch ad.Type() {
		case unix.NFTA_SET_NAME:
			s.Name = ad.String()
		case unix.NFTA_SET_FLAGS:
			s.Flags = ad.Uint32()
		case unix.NFTA_SET_KEY_TYPE:
			s.KeyType = ad.Uint32()
		case unix.NFTA_SET_KEY_LEN:
			s.KeyLen = ad.Uint32()
		case unix.NFTA_SET_TIMEOUT:
			s.Timeout = true
		}
	}
	return s
}

// Chain is a chain as the kernel lists it.
type Chain struct {
	Family uint8
	Table  string
	Name   string
	Base   bool // attached to a hook; the fields below are set only then
	Hook   uint32
	// Priority orders base chains on one hook.
	Priority int32
	Type     string // "nat", "filter", "route"
	Policy   uint32 // NF_ACCEPT or NF_DROP
}

// Chains lists the chains of every table of a family (AF_UNSPEC: of every
// family) in one dump; table, unless empty, keeps only that table's. The
// kernel's chain dump takes no table, so the filter is ours.
func (v *View) Chains(family uint8, table string) ([]Chain, error) {
	var out []Chain
	err := v.dump(unix.NFT_MSG_GETCHAIN, family, nil, func(family uint8, ad *netlink.AttributeDecoder) {
		if c := decodeChain(family, ad); table == "" || c.Table == table {
			out = append(out, c)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("list chains: %w", err)
	}
	return out, nil
}

func decodeChain(family uint8, ad *netlink.AttributeDecoder) Chain {
	c := Chain{Family: family, Policy: nfAccept}
	for ad.Next() {
		switch ad.Type() {
		case unix.NFTA_CHAIN_TABLE:
			c.Table = ad.String()
		case unix.NFTA_CHAIN_NAME:
			c.Name = ad.String()
		case unix.NFTA_CHAIN_TYPE:
			c.Type = ad.String()
		case unix.NFTA_CHAIN_POLICY:
			c.Policy = ad.Uint32()
		case unix.NFTA_CHAIN_HOOK:
			c.Base = true
			ad.Nested(func(nad *netlink.AttributeDecoder) error {
				for nad.Next() {
					switch nad.Type() {
					case unix.NFTA_HOOK_HOOKNUM:
						c.Hook = nad.Uint32()
					case unix.NFTA_HOOK_PRIORITY:
						c.Priority = int32(nad.Uint32())
					}
				}
				return nil
			})
		}
	}
	return c
}

// Rule is a rule as the kernel lists it.
type Rule struct {
	Chain    string
	Handle   uint64
	UserData []byte // the comment, in nft's TLV format
	Exprs    []Expr
}

// Rules lists the rules of every chain of one table in one dump, chain by
// chain in the table's order, each chain's in its order.
func (v *View) Rules(family uint8, table string) ([]Rule, error) {
	var out []Rule
	var bad error
	err := v.dump(unix.NFT_MSG_GETRULE, family, appendStringAttr(nil, unix.NFTA_RULE_TABLE, table), func(family uint8, ad *netlink.AttributeDecoder) {
		r, err := decodeRule(family, ad)
		if err != nil && bad == nil {
			bad = err
		}
		out = append(out, r)
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return nil, fmt.Errorf("list rules of table %s: %w", table, err)
	}
	return out, nil
}

func decodeRule(family uint8, ad *netlink.AttributeDecoder) (Rule, error) {
	var r Rule
	var err error
	for ad.Next() {
		switch ad.Type() {
		case unix.NFTA_RULE_CHAIN:
			r.Chain = ad.String()
		case unix.NFTA_RULE_HANDLE:
			r.Handle = ad.Uint64()
		case unix.NFTA_RULE_USERDATA:
			r.UserData = ad.Bytes()
		case unix.NFTA_RULE_EXPRESSIONS:
			// A copy: decoded expressions may keep slices of it, and the
			// received datagram is reused.
			r.Exprs, err = decodeExprs(family, ad.Bytes())
		}
	}
	return r, err
}
