package nfnl

import (
	"encoding/binary"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// ExprCounts returns, for every rule of a table, keyed by rule handle, how
// many expressions the kernel holds. google/nftables skips expression types
// it cannot decode, so a rule read through it may look shorter, and so more
// like ours, than it is; comparing counts exposes that.
func (s *Socket) ExprCounts(family uint8, table string) (map[uint64]int, error) {
	seq := s.nextSeq()
	ae := netlink.NewAttributeEncoder()
	ae.String(unix.NFTA_RULE_TABLE, table)
	attrs, err := ae.Encode()
	if err != nil {
		return nil, err
	}
	req := netlink.Message{
		Header: netlink.Header{Type: nftType(unix.NFT_MSG_GETRULE), Flags: netlink.Request | netlink.Dump, Sequence: seq},
		Data:   append(nfgenmsg(family, 0), attrs...),
	}
	if err := s.send([]netlink.Message{req}); err != nil {
		return nil, err
	}
	counts := map[uint64]int{}
	buf := make([]byte, 64<<10)
	for {
		msgs, err := s.receive(buf)
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			if m.Header.Sequence != seq {
				continue
			}
			switch m.Header.Type {
			case netlink.Done:
				return counts, nil
			case netlink.Error:
				if errno, _, _ := nlError(m); errno != 0 {
					return nil, fmt.Errorf("list rules of table %s: %w", table, errno)
				}
				return counts, nil
			}
			if len(m.Data) < 4 {
				continue
			}
			handle, n, err := ruleExprCount(m.Data[4:])
			if err != nil {
				return nil, fmt.Errorf("list rules of table %s: %w", table, err)
			}
			counts[handle] = n
		}
	}
}

func ruleExprCount(b []byte) (handle uint64, n int, err error) {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return 0, 0, err
	}
	for ad.Next() {
		switch ad.Type() {
		case unix.NFTA_RULE_HANDLE:
			handle = binary.BigEndian.Uint64(ad.Bytes())
		case unix.NFTA_RULE_EXPRESSIONS:
			ad.Nested(func(nad *netlink.AttributeDecoder) error {
				for nad.Next() {
					n++
				}
				return nil
			})
		}
	}
	return handle, n, ad.Err()
}
