//go:build linux

package kernel

import (
	"context"
	"fmt"

	"github.com/google/nftables"
	"github.com/proxy-init/netlink-native/nat"
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
	conn, err := c.reader(ctx)
	if err != nil {
		return nil, err
	}
	chains, err := conn.ListChains()
	if err != nil {
		return nil, classifyCtx(ctx, nat.OpRead, fmt.Errorf("list chains of all tables: %w", err))
	}
	var out []nat.BaseChain
	for _, ch := range chains {
		if ch.Hooknum == nil || ch.Table == nil {
			continue
		}
		bc := nat.BaseChain{
			Family: familyName(ch.Table.Family),
			Table:  ch.Table.Name,
			Chain:  ch.Name,
			Type:   string(ch.Type),
			Hook:   hookNameOf(ch.Table.Family, *ch.Hooknum),
		}
		if ch.Priority != nil {
			bc.Priority = int32(*ch.Priority)
		}
		out = append(out, bc)
	}
	return out, nil
}

func familyName(f nftables.TableFamily) string {
	switch f {
	case nftables.TableFamilyIPv4:
		return "ip"
	case nftables.TableFamilyIPv6:
		return "ip6"
	case nftables.TableFamilyINet:
		return "inet"
	case nftables.TableFamilyARP:
		return "arp"
	case nftables.TableFamilyBridge:
		return "bridge"
	case nftables.TableFamilyNetdev:
		return "netdev"
	}
	return fmt.Sprintf("family%d", f)
}

// hookNameOf names a hook as nft does; hook numbers mean different hooks
// in the netdev and arp families.
func hookNameOf(f nftables.TableFamily, h nftables.ChainHook) string {
	switch f {
	case nftables.TableFamilyNetdev:
		if h <= 1 {
			return [...]string{"ingress", "egress"}[h]
		}
	case nftables.TableFamilyARP:
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
