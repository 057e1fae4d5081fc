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
	counts := map[uint64]int{}
	err := s.request(unix.NFT_MSG_GETRULE, true, family, appendStringAttr(nil, unix.NFTA_RULE_TABLE, table), func(_ uint8, ad *netlink.AttributeDecoder) {
		var handle uint64
		n := 0
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
		counts[handle] = n
	})
	if err != nil {
		return nil, fmt.Errorf("list rules of table %s: %w", table, err)
	}
	return counts, nil
}
