package nfnl

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/google/nftables/expr"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Every message the batch writes by hand must equal what mdlayher/netlink's
// generic attribute encoder makes of the same attributes.

func encodeAttrs(t *testing.T, fn func(ae *netlink.AttributeEncoder)) []byte {
	t.Helper()
	ae := netlink.NewAttributeEncoder()
	ae.ByteOrder = binary.BigEndian
	fn(ae)
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMessagesMatchAttributeEncoder(t *testing.T) {
	exprs := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Lookup{SourceRegister: 1, SetName: "inbound_ports_ignore", SetID: 1},
		&expr.Counter{},
		&expr.Verdict{Kind: expr.VerdictReturn},
	}
	userData := []byte("\x00\x07comment\x00")
	hook := &BaseHook{Num: unix.NF_INET_PRE_ROUTING, Priority: -100, Type: "nat"}

	var b Batch
	b.AddTable(unix.NFPROTO_IPV4, "proxy_init", true)
	b.DelTable(unix.NFPROTO_IPV6, "proxy_init")
	b.AddChain(unix.NFPROTO_IPV4, "proxy_init", "PROXY_INIT_REDIRECT", nil)
	b.AddChain(unix.NFPROTO_IPV4, "proxy_init", "PREROUTING", hook)
	b.AddIntervalSet(unix.NFPROTO_IPV4, "proxy_init", "inbound_ports_ignore", TypeInetServic, 2)
	b.AddRule(unix.NFPROTO_IPV4, "proxy_init", "PROXY_INIT_REDIRECT", exprs, userData, "rule")
	b.AddRule(unix.NFPROTO_IPV4, "proxy_init", "PREROUTING", exprs[4:], nil, "rule without comment")
	if b.err != nil {
		t.Fatal(b.err)
	}

	want := []struct {
		typ   int
		flags netlink.HeaderFlags
		attrs []byte
	}{
		{unix.NFT_MSG_NEWTABLE, netlink.Create | netlink.Excl, encodeAttrs(t, func(ae *netlink.AttributeEncoder) {
			ae.String(unix.NFTA_TABLE_NAME, "proxy_init")
			ae.Uint32(unix.NFTA_TABLE_FLAGS, 0)
		})},
		{unix.NFT_MSG_DELTABLE, 0, encodeAttrs(t, func(ae *netlink.AttributeEncoder) {
			ae.String(unix.NFTA_TABLE_NAME, "proxy_init")
		})},
		{unix.NFT_MSG_NEWCHAIN, netlink.Create | netlink.Excl, encodeAttrs(t, func(ae *netlink.AttributeEncoder) {
			ae.String(unix.NFTA_CHAIN_TABLE, "proxy_init")
			ae.String(unix.NFTA_CHAIN_NAME, "PROXY_INIT_REDIRECT")
		})},
		{unix.NFT_MSG_NEWCHAIN, netlink.Create | netlink.Excl, encodeAttrs(t, func(ae *netlink.AttributeEncoder) {
			ae.String(unix.NFTA_CHAIN_TABLE, "proxy_init")
			ae.String(unix.NFTA_CHAIN_NAME, "PREROUTING")
			ae.Nested(unix.NFTA_CHAIN_HOOK, func(nae *netlink.AttributeEncoder) error {
				nae.Uint32(unix.NFTA_HOOK_HOOKNUM, hook.Num)
				nae.Uint32(unix.NFTA_HOOK_PRIORITY, uint32(hook.Priority))
				return nil
			})
			ae.Uint32(unix.NFTA_CHAIN_POLICY, nfAccept)
			ae.String(unix.NFTA_CHAIN_TYPE, "nat")
		})},
		{unix.NFT_MSG_NEWSET, netlink.Create | netlink.Excl, encodeAttrs(t, func(ae *netlink.AttributeEncoder) {
			ae.String(unix.NFTA_SET_TABLE, "proxy_init")
			ae.String(unix.NFTA_SET_NAME, "inbound_ports_ignore")
			ae.Uint32(unix.NFTA_SET_FLAGS, unix.NFT_SET_INTERVAL)
			ae.Uint32(unix.NFTA_SET_KEY_TYPE, TypeInetServic)
			ae.Uint32(unix.NFTA_SET_KEY_LEN, 2)
			ae.Uint32(unix.NFTA_SET_ID, 1)
		})},
		{unix.NFT_MSG_NEWRULE, netlink.Create | netlink.Append, ruleAttrs(t, "PROXY_INIT_REDIRECT", exprs, userData)},
		{unix.NFT_MSG_NEWRULE, netlink.Create | netlink.Append, ruleAttrs(t, "PREROUTING", exprs[4:], nil)},
	}
	if len(b.offs) != len(want) {
		t.Fatalf("%d messages, want %d", len(b.offs), len(want))
	}
	msgs, err := parseMessages(b.buf[b.offs[0]:])
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range want {
		m := msgs[i]
		if m.Header.Type != nftType(w.typ) || m.Header.Flags != netlink.Request|w.flags {
			t.Errorf("message %d: type %#x flags %#x, want %#x %#x", i, m.Header.Type, m.Header.Flags, nftType(w.typ), netlink.Request|w.flags)
		}
		if got := m.Data[4:]; !bytes.Equal(got, w.attrs) {
			t.Errorf("message %d (%s):\n got %x\nwant %x", i, b.what[i], got, w.attrs)
		}
	}
}

// ruleAttrs is a rule as the generic encoders build it: expressions
// marshalled into a list, the list into the rule.
func ruleAttrs(t *testing.T, chain string, exprs []expr.Any, userData []byte) []byte {
	t.Helper()
	list := make([]netlink.Attribute, len(exprs))
	for i, e := range exprs {
		data, err := expr.Marshal(unix.NFPROTO_IPV4, e)
		if err != nil {
			t.Fatal(err)
		}
		list[i] = netlink.Attribute{Type: unix.NLA_F_NESTED | unix.NFTA_LIST_ELEM, Data: data}
	}
	exprData, err := netlink.MarshalAttributes(list)
	if err != nil {
		t.Fatal(err)
	}
	return encodeAttrs(t, func(ae *netlink.AttributeEncoder) {
		ae.String(unix.NFTA_RULE_TABLE, "proxy_init")
		ae.String(unix.NFTA_RULE_CHAIN, chain)
		ae.Bytes(unix.NLA_F_NESTED|unix.NFTA_RULE_EXPRESSIONS, exprData)
		if len(userData) > 0 {
			ae.Bytes(unix.NFTA_RULE_USERDATA, userData)
		}
	})
}

// An attribute too long for netlink's 16-bit length is an error before
// anything is sent, not a length that wraps.
func TestOversizedAttributeIsAnError(t *testing.T) {
	var ok Batch
	ok.AddRule(unix.NFPROTO_IPV4, "t", "c", []expr.Any{&expr.Counter{}}, make([]byte, 0xffff-unix.NLA_HDRLEN), "largest comment")
	if ok.err != nil {
		t.Fatalf("largest attribute refused: %v", ok.err)
	}
	var b Batch
	b.AddRule(unix.NFPROTO_IPV4, "t", "c", []expr.Any{&expr.Counter{}}, make([]byte, 0x10000), "huge comment")
	if b.err == nil || !strings.Contains(b.err.Error(), "huge comment") {
		t.Fatalf("oversized attribute: err = %v", b.err)
	}
}
