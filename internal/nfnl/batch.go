package nfnl

import (
	"encoding/binary"
	"fmt"

	"github.com/google/nftables/expr"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Batch is one nf_tables transaction under construction. Builders record the
// first encoding error; Commit returns it before anything is sent.
type Batch struct {
	msgs  []netlink.Message
	what  []string // what each message does, for error messages
	err   error
	setID uint32
}

func (b *Batch) add(msgType int, flags netlink.HeaderFlags, family uint8, what string, attrs func(ae *netlink.AttributeEncoder)) {
	ae := netlink.NewAttributeEncoder()
	ae.ByteOrder = binary.BigEndian
	attrs(ae)
	data, err := ae.Encode()
	if err != nil && b.err == nil {
		b.err = fmt.Errorf("encode %s: %w", what, err)
	}
	b.msgs = append(b.msgs, netlink.Message{
		Header: netlink.Header{Type: nftType(msgType), Flags: netlink.Request | flags},
		Data:   append(nfgenmsg(family, 0), data...),
	})
	b.what = append(b.what, what)
}

// Len is the number of messages in the batch.
func (b *Batch) Len() int { return len(b.msgs) }

// AddTable creates a table. With exclusive, the whole batch fails with
// EEXIST when the table is already there, which is how a fresh install finds
// out in the same round trip that it is not fresh.
func (b *Batch) AddTable(family uint8, name string, exclusive bool) {
	flags := netlink.HeaderFlags(netlink.Create)
	if exclusive {
		flags |= netlink.Excl
	}
	b.add(unix.NFT_MSG_NEWTABLE, flags, family, fmt.Sprintf("create table %s", name), func(ae *netlink.AttributeEncoder) {
		ae.String(unix.NFTA_TABLE_NAME, name)
		ae.Uint32(unix.NFTA_TABLE_FLAGS, 0)
	})
}

// DelTable deletes a table and everything in it.
func (b *Batch) DelTable(family uint8, name string) {
	b.add(unix.NFT_MSG_DELTABLE, 0, family, fmt.Sprintf("delete table %s", name), func(ae *netlink.AttributeEncoder) {
		ae.String(unix.NFTA_TABLE_NAME, name)
	})
}

// BaseHook attaches a chain to a netfilter hook.
type BaseHook struct {
	Num      uint32 // NF_INET_PRE_ROUTING, NF_INET_LOCAL_OUT, ...
	Priority int32
	Type     string // "nat"
}

// AddChain creates a regular chain, or a base chain with policy accept.
func (b *Batch) AddChain(family uint8, table, name string, hook *BaseHook) {
	b.add(unix.NFT_MSG_NEWCHAIN, netlink.Create|netlink.Excl, family, fmt.Sprintf("create chain %s %s", table, name), func(ae *netlink.AttributeEncoder) {
		ae.String(unix.NFTA_CHAIN_TABLE, table)
		ae.String(unix.NFTA_CHAIN_NAME, name)
		if hook == nil {
			return
		}
		ae.Nested(unix.NFTA_CHAIN_HOOK, func(nae *netlink.AttributeEncoder) error {
			nae.Uint32(unix.NFTA_HOOK_HOOKNUM, hook.Num)
			nae.Uint32(unix.NFTA_HOOK_PRIORITY, uint32(hook.Priority))
			return nil
		})
		ae.Uint32(unix.NFTA_CHAIN_POLICY, nfAccept)
		ae.String(unix.NFTA_CHAIN_TYPE, hook.Type)
	})
}

// Datatype ids nft uses for set keys; nft needs them to print elements.
const (
	TypeIPv4Addr   = 7
	TypeIPv6Addr   = 8
	TypeInetServic = 13
)

// AddIntervalSet creates an empty named interval set. It is not constant, so
// elements can be added by later messages of the same batch (the kernel
// sizes a constant set to the elements of its creating message).
func (b *Batch) AddIntervalSet(family uint8, table, name string, keyType, keyLen uint32) {
	b.setID++
	id := b.setID
	b.add(unix.NFT_MSG_NEWSET, netlink.Create|netlink.Excl, family, fmt.Sprintf("create set %s %s", table, name), func(ae *netlink.AttributeEncoder) {
		ae.String(unix.NFTA_SET_TABLE, table)
		ae.String(unix.NFTA_SET_NAME, name)
		ae.Uint32(unix.NFTA_SET_FLAGS, unix.NFT_SET_INTERVAL)
		ae.Uint32(unix.NFTA_SET_KEY_TYPE, keyType)
		ae.Uint32(unix.NFTA_SET_KEY_LEN, keyLen)
		ae.Uint32(unix.NFTA_SET_ID, id)
	})
}

// Element is one key of an interval set: a range start, or with End the
// first key past a range.
type Element struct {
	Key []byte
	End bool
}

// maxElemBytes bounds one element message. A nested attribute's length is 16
// bits, so one message cannot carry much more than 64 KiB of elements.
const maxElemBytes = 48 << 10

// AddElements adds elements to a set, split over as many messages as needed.
func (b *Batch) AddElements(family uint8, table, set string, elems []Element) {
	for len(elems) > 0 {
		per := 12 + nlmsgAlign(len(elems[0].Key)) + 8 + 8 // list elem + key nest + value + flags
		n := min(len(elems), maxElemBytes/per)
		chunk := elems[:n]
		elems = elems[n:]
		b.add(unix.NFT_MSG_NEWSETELEM, netlink.Create, family, fmt.Sprintf("add %d elements to set %s %s", n, table, set), func(ae *netlink.AttributeEncoder) {
			ae.String(unix.NFTA_SET_ELEM_LIST_TABLE, table)
			ae.String(unix.NFTA_SET_ELEM_LIST_SET, set)
			ae.Nested(unix.NFTA_SET_ELEM_LIST_ELEMENTS, func(le *netlink.AttributeEncoder) error {
				for _, e := range chunk {
					le.Nested(unix.NFTA_LIST_ELEM, func(ee *netlink.AttributeEncoder) error {
						ee.Nested(unix.NFTA_SET_ELEM_KEY, func(ke *netlink.AttributeEncoder) error {
							ke.Bytes(unix.NFTA_DATA_VALUE, e.Key)
							return nil
						})
						if e.End {
							ee.Uint32(unix.NFTA_SET_ELEM_FLAGS, unix.NFT_SET_ELEM_INTERVAL_END)
						}
						return nil
					})
				}
				return nil
			})
		})
	}
}

// AddRule appends a rule to a chain.
func (b *Batch) AddRule(family uint8, table, chain string, exprs []expr.Any, userData []byte, what string) {
	list := make([]netlink.Attribute, len(exprs))
	for i, e := range exprs {
		data, err := expr.Marshal(family, e)
		if err != nil && b.err == nil {
			b.err = fmt.Errorf("encode %s: %w", what, err)
		}
		list[i] = netlink.Attribute{Type: unix.NLA_F_NESTED | unix.NFTA_LIST_ELEM, Data: data}
	}
	exprData, err := netlink.MarshalAttributes(list)
	if err != nil && b.err == nil {
		b.err = fmt.Errorf("encode %s: %w", what, err)
	}
	b.add(unix.NFT_MSG_NEWRULE, netlink.Create|netlink.Append, family, what, func(ae *netlink.AttributeEncoder) {
		ae.String(unix.NFTA_RULE_TABLE, table)
		ae.String(unix.NFTA_RULE_CHAIN, chain)
		ae.Bytes(unix.NLA_F_NESTED|unix.NFTA_RULE_EXPRESSIONS, exprData)
		if len(userData) > 0 {
			ae.Bytes(unix.NFTA_RULE_USERDATA, userData)
		}
	})
}

const nfAccept = 1 // NF_ACCEPT, the policy of our base chains
