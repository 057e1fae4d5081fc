package nfnl

import (
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/google/nftables/expr"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// The decoders are tested on messages laid out as the kernel's dumps write
// them (nf_tables_fill_*_info), attributes we do not read included; no root
// and no kernel needed.

const testSeq = 7

// object is one dump message: nfgenmsg with the family and res_id, then the
// attributes.
func object(t *testing.T, msgType int, family uint8, resID uint16, fn func(ae *netlink.AttributeEncoder)) netlink.Message {
	t.Helper()
	return netlink.Message{
		Header: netlink.Header{Type: nftType(msgType), Flags: netlink.Multi, Sequence: testSeq},
		Data:   append(nfgenmsg(family, resID), encodeAttrs(t, fn)...),
	}
}

var done = netlink.Message{Header: netlink.Header{Type: netlink.Done, Flags: netlink.Multi, Sequence: testSeq}, Data: make([]byte, 4)}

// collect runs the messages through a dump's answer pinned to gen, as
// request does with what the socket receives, and returns how many objects
// went to each, and the answer's error.
func collect(t *testing.T, gen uint32, msgs []netlink.Message, each func(family uint8, ad *netlink.AttributeDecoder)) (int, error) {
	t.Helper()
	a := answer{seq: testSeq, gen: &gen, each: each}
	for i, m := range msgs {
		// One datagram per message: a dump may end in any of them.
		if finished, err := a.take([]netlink.Message{m}); finished {
			if i != len(msgs)-1 {
				t.Fatalf("answer ended at message %d of %d", i+1, len(msgs))
			}
			return a.objects, err
		}
	}
	t.Fatal("answer did not end at the done message")
	return 0, nil
}

func TestDecodeTable(t *testing.T) {
	var got []Table
	_, err := collect(t, 0x10005, []netlink.Message{
		object(t, unix.NFT_MSG_NEWTABLE, unix.NFPROTO_IPV6, 5, func(ae *netlink.AttributeEncoder) {
			ae.String(unix.NFTA_TABLE_NAME, "proxy_init")
			ae.Uint32(unix.NFTA_TABLE_FLAGS, 1)
			ae.Uint32(unix.NFTA_TABLE_USE, 9)
			ae.Uint64(4, 3) // NFTA_TABLE_HANDLE
		}),
		done,
	}, func(f uint8, ad *netlink.AttributeDecoder) { got = append(got, decodeTable(f, ad)) })
	want := []Table{{Family: unix.NFPROTO_IPV6, Name: "proxy_init", Flags: 1}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, %v; want %+v", got, err, want)
	}
}

func TestDecodeSet(t *testing.T) {
	var got []Set
	_, err := collect(t, 5, []netlink.Message{
		object(t, unix.NFT_MSG_NEWSET, unix.NFPROTO_IPV4, 5, func(ae *netlink.AttributeEncoder) {
			ae.String(unix.NFTA_SET_TABLE, "proxy_init")
			ae.String(unix.NFTA_SET_NAME, "inbound_ports_ignore")
			ae.Uint64(16, 2) // NFTA_SET_HANDLE
			ae.Uint32(unix.NFTA_SET_FLAGS, unix.NFT_SET_INTERVAL)
			ae.Uint32(unix.NFTA_SET_KEY_TYPE, TypeInetServic)
			ae.Uint32(unix.NFTA_SET_KEY_LEN, 2)
			ae.Bytes(unix.NFTA_SET_USERDATA, []byte{0, 4, 2, 0, 0, 0})
			ae.Nested(unix.NFTA_SET_DESC, func(nae *netlink.AttributeEncoder) error {
				nae.Uint32(unix.NFTA_SET_DESC_SIZE, 16)
				return nil
			})
		}),
		object(t, unix.NFT_MSG_NEWSET, unix.NFPROTO_IPV4, 5, func(ae *netlink.AttributeEncoder) {
			ae.String(unix.NFTA_SET_NAME, "theirs")
			ae.Uint32(unix.NFTA_SET_FLAGS, unix.NFT_SET_MAP|unix.NFT_SET_CONSTANT)
			ae.Uint32(unix.NFTA_SET_KEY_TYPE, 19) // mark
			ae.Uint32(unix.NFTA_SET_KEY_LEN, 4)
			ae.Uint64(unix.NFTA_SET_TIMEOUT, 60000)
		}),
		done,
	}, func(_ uint8, ad *netlink.AttributeDecoder) { got = append(got, decodeSet(ad)) })
	want := []Set{
		{Name: "inbound_ports_ignore", Flags: unix.NFT_SET_INTERVAL, KeyType: TypeInetServic, KeyLen: 2},
		{Name: "theirs", Flags: unix.NFT_SET_MAP | unix.NFT_SET_CONSTANT, KeyType: 19, KeyLen: 4, Timeout: true},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, %v; want %+v", got, err, want)
	}
}

func TestDecodeChain(t *testing.T) {
	var got []Chain
	_, err := collect(t, 5, []netlink.Message{
		object(t, unix.NFT_MSG_NEWCHAIN, unix.NFPROTO_IPV4, 5, func(ae *netlink.AttributeEncoder) {
			ae.String(unix.NFTA_CHAIN_TABLE, "proxy_init")
			ae.Uint64(unix.NFTA_CHAIN_HANDLE, 1)
			ae.String(unix.NFTA_CHAIN_NAME, "PREROUTING")
			ae.Nested(unix.NFTA_CHAIN_HOOK, func(nae *netlink.AttributeEncoder) error {
				nae.Uint32(unix.NFTA_HOOK_HOOKNUM, unix.NF_INET_PRE_ROUTING)
				nae.Uint32(unix.NFTA_HOOK_PRIORITY, uint32(0xffffff9c)) // -100
				return nil
			})
			ae.Uint32(unix.NFTA_CHAIN_POLICY, 0) // NF_DROP
			ae.String(unix.NFTA_CHAIN_TYPE, "nat")
			ae.Uint32(10, 1) // NFTA_CHAIN_FLAGS
			ae.Uint32(unix.NFTA_CHAIN_USE, 1)
		}),
		object(t, unix.NFT_MSG_NEWCHAIN, unix.NFPROTO_IPV4, 5, func(ae *netlink.AttributeEncoder) {
			ae.String(unix.NFTA_CHAIN_TABLE, "nat")
			ae.String(unix.NFTA_CHAIN_NAME, "KUBE-SERVICES")
		}),
		object(t, unix.NFT_MSG_NEWCHAIN, unix.NFPROTO_IPV4, 5, func(ae *netlink.AttributeEncoder) {
			ae.String(unix.NFTA_CHAIN_TABLE, "proxy_init")
			ae.String(unix.NFTA_CHAIN_NAME, "PROXY_INIT_OUTPUT")
		}),
		done,
	}, func(f uint8, ad *netlink.AttributeDecoder) { got = append(got, decodeChain(f, ad)) })
	want := []Chain{
		{Family: unix.NFPROTO_IPV4, Table: "proxy_init", Name: "PREROUTING", Base: true, Hook: unix.NF_INET_PRE_ROUTING, Priority: -100, Type: "nat", Policy: 0},
		{Family: unix.NFPROTO_IPV4, Table: "nat", Name: "KUBE-SERVICES", Policy: nfAccept},
		{Family: unix.NFPROTO_IPV4, Table: "proxy_init", Name: "PROXY_INIT_OUTPUT", Policy: nfAccept},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, %v; want %+v", got, err, want)
	}
}

// ruleMessage is a rule dump message holding the expressions, each written
// as the kernel lists it: name and data, as google/nftables encodes them.
func ruleMessage(t *testing.T, resID uint16, handle uint64, udata []byte, exprs ...[]byte) netlink.Message {
	return object(t, unix.NFT_MSG_NEWRULE, unix.NFPROTO_IPV4, resID, func(ae *netlink.AttributeEncoder) {
		ae.String(unix.NFTA_RULE_TABLE, "proxy_init")
		ae.String(unix.NFTA_RULE_CHAIN, "PROXY_INIT_OUTPUT")
		ae.Uint64(unix.NFTA_RULE_HANDLE, handle)
		ae.Nested(unix.NFTA_RULE_EXPRESSIONS, func(nae *netlink.AttributeEncoder) error {
			for _, e := range exprs {
				nae.Bytes(unix.NLA_F_NESTED|unix.NFTA_LIST_ELEM, e)
			}
			return nil
		})
		if udata != nil {
			ae.Bytes(unix.NFTA_RULE_USERDATA, udata)
		}
	})
}

func marshal(t *testing.T, e expr.Any) []byte {
	t.Helper()
	b, err := expr.Marshal(unix.NFPROTO_IPV4, e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawExpr is an expression by name with attribute bytes of our choosing.
func rawExpr(t *testing.T, name string, data []byte) []byte {
	return encodeAttrs(t, func(ae *netlink.AttributeEncoder) {
		ae.String(unix.NFTA_EXPR_NAME, name)
		ae.Bytes(unix.NLA_F_NESTED|unix.NFTA_EXPR_DATA, data)
	})
}

func TestDecodeRule(t *testing.T) {
	ours := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Lookup{SourceRegister: 1, SetName: "outbound_ports_ignore"},
		&expr.Counter{Packets: 3, Bytes: 180},
		&expr.Immediate{Register: 1, Data: []byte{0x10, 0x2c}},
		&expr.Redir{RegisterProtoMin: 1, RegisterProtoMax: 1, Flags: unix.NF_NAT_RANGE_PROTO_SPECIFIED},
	}
	var encoded [][]byte
	for _, e := range ours {
		encoded = append(encoded, marshal(t, e))
	}
	udata := []byte("\x00\x1aproxy-init/redirect-all\x00")
	// A verdict is written as an immediate into the verdict register.
	ret := marshal(t, &expr.Verdict{Kind: expr.VerdictReturn})
	// byteorder: google/nftables encodes it but has no decoder.
	byteorder := marshal(t, &expr.Byteorder{SourceRegister: 1, DestRegister: 1, Op: expr.ByteorderHton, Len: 4, Size: 4})
	// A verdict whose data is cut short: their decoder indexes past it.
	short := rawExpr(t, "immediate", encodeAttrs(t, func(ae *netlink.AttributeEncoder) {
		ae.Uint32(unix.NFTA_IMMEDIATE_DREG, unix.NFT_REG_VERDICT)
		ae.Nested(unix.NFTA_IMMEDIATE_DATA, func(nae *netlink.AttributeEncoder) error {
			nae.Bytes(unix.NFTA_DATA_VERDICT, []byte{0, 4})
			return nil
		})
	}))

	var got []Rule
	_, err := collect(t, 5, []netlink.Message{
		ruleMessage(t, 5, 4, udata, encoded...),
		ruleMessage(t, 5, 5, nil, encoded[0], byteorder, encoded[1], ret),
		ruleMessage(t, 5, 6, nil, short),
		done,
	}, func(f uint8, ad *netlink.AttributeDecoder) {
		r, err := decodeRule(f, ad)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	})
	if err != nil || len(got) != 3 {
		t.Fatalf("got %d rules, %v; want 3", len(got), err)
	}

	r := got[0]
	if r.Chain != "PROXY_INIT_OUTPUT" || r.Handle != 4 || string(r.UserData) != string(udata) || len(r.Exprs) != len(ours) {
		t.Fatalf("rule 0: %+v", r)
	}
	for i, e := range r.Exprs {
		if e.Err != nil || !reflect.DeepEqual(e.Value, ours[i]) {
			t.Errorf("rule 0 expression %d: %s %+v (%v), want %+v", i, e.Name, e.Value, e.Err, ours[i])
		}
	}

	// Nothing is dropped: the undecodable expression keeps its place.
	r = got[1]
	names := make([]string, len(r.Exprs))
	for i, e := range r.Exprs {
		names[i] = e.Name
	}
	if strings.Join(names, " ") != "meta byteorder cmp immediate" {
		t.Fatalf("rule 1 expressions %v", names)
	}
	if !errors.Is(r.Exprs[1].Err, ErrUnknownExpr) || r.Exprs[1].Value != nil {
		t.Errorf("byteorder: %+v, want not decoded", r.Exprs[1])
	}
	if v, ok := r.Exprs[3].Value.(*expr.Verdict); !ok || v.Kind != expr.VerdictReturn {
		t.Errorf("verdict decoded as %+v", r.Exprs[3].Value)
	}

	if e := got[2].Exprs; len(e) != 1 || e[0].Value != nil || e[0].Err == nil {
		t.Errorf("malformed verdict: %+v, want not decoded", e)
	}
}

// TestAnswerRefusesAnotherGeneration: a dump pinned to a generation refuses
// an object written at another one (someone committed while we read), reads
// the dump to its end all the same (a socket starts no dump while one is
// unfinished), and hands nothing of the other generation on. res_id holds
// the generation's low 16 bits only.
func TestAnswerRefusesAnotherGeneration(t *testing.T) {
	table := func(resID uint16, name string) netlink.Message {
		return object(t, unix.NFT_MSG_NEWTABLE, unix.NFPROTO_IPV4, resID, func(ae *netlink.AttributeEncoder) {
			ae.String(unix.NFTA_TABLE_NAME, name)
		})
	}
	var names []string
	each := func(f uint8, ad *netlink.AttributeDecoder) { names = append(names, decodeTable(f, ad).Name) }

	n, err := collect(t, 0x70001, []netlink.Message{table(1, "a"), table(1, "b"), done}, each)
	if err != nil || n != 2 || strings.Join(names, ",") != "a,b" {
		t.Fatalf("one generation: %d objects %v, %v", n, names, err)
	}

	names = nil
	n, err = collect(t, 0x70001, []netlink.Message{table(1, "a"), table(2, "b"), table(1, "c"), done}, each)
	if !errors.Is(err, ErrGenerationChanged) {
		t.Fatalf("a dump spanning a commit: %v, want ErrGenerationChanged", err)
	}
	if strings.Join(names, ",") != "a" || n != 1 {
		t.Fatalf("objects handed on: %v (%d), want only the first", names, n)
	}

	// Unpinned (Socket.Tables), the generation is not looked at.
	names = nil
	a := answer{seq: testSeq, each: each}
	if fin, err := a.take([]netlink.Message{table(1, "a"), table(2, "b"), done}); !fin || err != nil || len(names) != 2 {
		t.Fatalf("unpinned: done %v, %v, %v", fin, err, names)
	}
}

// A request's error ends the answer with the kernel's errno.
func TestAnswerError(t *testing.T) {
	e := make([]byte, 4+unix.NLMSG_HDRLEN)
	errno := -int32(unix.ENOENT)
	binary.NativeEndian.PutUint32(e, uint32(errno))
	a := answer{seq: testSeq, each: func(uint8, *netlink.AttributeDecoder) { t.Fatal("no object expected") }}
	fin, err := a.take([]netlink.Message{{Header: netlink.Header{Type: netlink.Error, Sequence: testSeq}, Data: e}})
	if !fin || !errors.Is(err, unix.ENOENT) {
		t.Fatalf("done %v, %v; want ENOENT", fin, err)
	}
}
