package nfnl

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// The hand-written encoders of the hot path must produce exactly what the
// generic attribute encoder produces.

func TestAppendElementMatchesAttributeEncoder(t *testing.T) {
	for _, e := range []Element{
		{Key: []byte{0x10, 0x5e}},
		{Key: []byte{0x10, 0x60}, End: true},
		{Key: []byte{10, 0, 0, 0}},
		{Key: []byte{11, 0, 0, 0}, End: true},
		{Key: bytes.Repeat([]byte{0xfd}, 16)},
		{Key: bytes.Repeat([]byte{0xfe}, 16), End: true},
	} {
		ae := netlink.NewAttributeEncoder()
		ae.ByteOrder = binary.BigEndian
		ae.Nested(unix.NFTA_LIST_ELEM, func(ee *netlink.AttributeEncoder) error {
			ee.Nested(unix.NFTA_SET_ELEM_KEY, func(ke *netlink.AttributeEncoder) error {
				ke.Bytes(unix.NFTA_DATA_VALUE, e.Key)
				return nil
			})
			if e.End {
				ee.Uint32(unix.NFTA_SET_ELEM_FLAGS, unix.NFT_SET_ELEM_INTERVAL_END)
			}
			return nil
		})
		want, err := ae.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if got := appendElement(nil, e); !bytes.Equal(got, want) {
			t.Errorf("element %+v:\n got %x\nwant %x", e, got, want)
		}
	}
}

func TestAppendStringAttrMatchesAttributeEncoder(t *testing.T) {
	for _, s := range []string{"", "a", "abc", "abcd", "proxy_init", "inbound_ports_ignore"} {
		ae := netlink.NewAttributeEncoder()
		ae.String(unix.NFTA_SET_ELEM_LIST_SET, s)
		want, _ := ae.Encode()
		if got := appendStringAttr(nil, unix.NFTA_SET_ELEM_LIST_SET, s); !bytes.Equal(got, want) {
			t.Errorf("%q:\n got %x\nwant %x", s, got, want)
		}
	}
}

// TestAddElementsSplitsMessages: no element message exceeds what a 16-bit
// nested attribute length can describe, and every element is sent once.
func TestAddElementsSplitsMessages(t *testing.T) {
	elems := make([]Element, 40000)
	for i := range elems {
		elems[i] = Element{Key: binary.BigEndian.AppendUint32(nil, uint32(i)), End: i%2 == 1}
	}
	var b Batch
	b.AddElements(unix.NFPROTO_IPV4, "t", "s", elems)
	if b.Len() < 2 {
		t.Fatalf("%d messages for 40000 elements", b.Len())
	}
	total := 0
	for i, off := range b.offs {
		end := len(b.buf)
		if i+1 < len(b.offs) {
			end = b.offs[i+1]
		}
		msgs, err := parseMessages(b.buf[off:end])
		if err != nil || len(msgs) != 1 {
			t.Fatalf("message %d does not parse: %v", i, err)
		}
		if l := len(msgs[0].Data); l > 0xffff {
			t.Fatalf("message %d carries %d bytes", i, l)
		}
		ad, err := netlink.NewAttributeDecoder(msgs[0].Data[4:])
		if err != nil {
			t.Fatal(err)
		}
		for ad.Next() {
			if ad.Type() == unix.NFTA_SET_ELEM_LIST_ELEMENTS {
				ad.Nested(func(nad *netlink.AttributeDecoder) error {
					for nad.Next() {
						total++
					}
					return nil
				})
			}
		}
		if err := ad.Err(); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if total != len(elems) {
		t.Fatalf("sent %d elements, want %d", total, len(elems))
	}
}
