//go:build linux

package kernel

import (
	"context"
	"fmt"

	"github.com/proxy-init/netlink-native/internal/nfnl"
	"github.com/proxy-init/netlink-native/nat"
	"golang.org/x/sys/unix"
)

// BaseChains lists the base chains of every table in the namespace, of
// every family, ours included, in one dump. It reads; explain uses it to
// say which other NAT chains share our hooks, since their rules decide
// before or after ours and are not ours to evaluate.
func (c *Client) BaseChains(ctx context.Context) ([]nat.BaseChain, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.begin(ctx); err != nil {
		return nil, err
	}
	var chains []nfnl.Chain
	_, err := c.readAt(ctx, func(v *nfnl.View) (err error) {
		chains, err = v.Chains(unix.AF_UNSPEC, "")
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []nat.BaseChain
	for _, ch := range chains {
		if !ch.Base {
			continue
		}
		out = append(out, nat.BaseChain{
			Family:   familyName(ch.Family),
			Table:    ch.Table,
			Chain:    ch.Name,
			Type:     ch.Type,
			Hook:     hookNameOf(ch.Family, ch.Hook),
			Priority: ch.Priority,
		})
	}
	return out, nil
}

func familyName(f uint8) string {
	switch f {
	case unix.NFPROTO_IPV4:
		return "ip"
	case unix.NFPROTO_IPV6:
		return "ip6"
	case unix.NFPROTO_INET:
		return "inet"
	case unix.NFPROTO_ARP:
		return "arp"
	case unix.NFPROTO_BRIDGE:
		return "bridge"
	case unix.NFPROTO_NETDEV:
		return "netdev"
	}
	return fmt.Sprintf("family%d", f)
}

// hookNameOf names a hook as nft does; hook numbers mean different hooks
// in the netdev and arp families.
func hookNameOf(f uint8, h uint32) string {
	switch f {
	case unix.NFPROTO_NETDEV:
		if h <= 1 {
			return [...]string{"ingress", "egress"}[h]
		}
	case unix.NFPROTO_ARP:
		if h <= 1 {
			return [...]string{"input", "output"}[h]
		}
	default:
		if h <= 5 {
			return [...]string{"prerouting", "input", "forward", "output", "postrouting", "ingress"}[h]
		}
	}
	return fmt.Sprintf("hook%d", h)
}
