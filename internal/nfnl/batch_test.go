package nfnl

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// The hand-written encoders of the hot path must produce exactly what the
// generic attribute encoder produces.

func TestAppendElementMatchesAttributeEncoder(t *testing.T) {
	for _, e := range []struct {
		Key []byte
		End bool
	}{
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
		if got := appendElement(nil, e.Key, e.End); !bytes.Equal(got, want) {
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

// An interval set is encoded as nft encodes it: a start key per interval,
// an end marker one past its last key (none at the top of the key space), and
// an end marker at zero before a first interval that does not start there.
func TestIntervalElements(t *testing.T) {
	ports := [][2]uint16{{1, 1}, {80, 90}, {65535, 65535}}
	var got []string
	for key, end := range IntervalElements(len(ports), func(i int) (first, last []byte) {
		return binary.BigEndian.AppendUint16(nil, ports[i][0]), binary.BigEndian.AppendUint16(nil, ports[i][1])
	}) {
		got = append(got, fmt.Sprintf("%d%s", binary.BigEndian.Uint16(key), map[bool]string{true: "end"}[end]))
	}
	if want := "0end 1 2end 80 91end 65535"; strings.Join(got, " ") != want {
		t.Fatalf("elements %q, want %q", strings.Join(got, " "), want)
	}
}

// TestAddIntervalsSplitsMessages: no element message exceeds what a 16-bit
// nested attribute length can describe, and every element is sent once, in
// order.
func TestAddIntervalsSplitsMessages(t *testing.T) {
	const n = 20000
	interval := func(i int) (first, last []byte) {
		k := binary.BigEndian.AppendUint32(nil, uint32(3*i+1))
		return k, k
	}
	var want [][]byte
	for key := range IntervalElements(n, interval) {
		want = append(want, append([]byte(nil), key...))
	}
	var b Batch
	b.AddIntervals(unix.NFPROTO_IPV4, "t", "s", n, interval)
	if b.Len() < 2 {
		t.Fatalf("%d messages for %d elements", b.Len(), len(want))
	}
	var got [][]byte
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
				ad.Nested(func(elems *netlink.AttributeDecoder) error {
					for elems.Next() {
						elems.Nested(func(elem *netlink.AttributeDecoder) error {
							for elem.Next() {
								if elem.Type() == unix.NFTA_SET_ELEM_KEY {
									elem.Nested(func(key *netlink.AttributeDecoder) error {
										for key.Next() {
											got = append(got, key.Bytes())
										}
										return nil
									})
								}
							}
							return nil
						})
					}
					return nil
				})
			}
		}
		if err := ad.Err(); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("sent %d element keys, want the %d of IntervalElements in order", len(got), len(want))
	}
}
