package nat

import "github.com/proxy-init/netlink-native/internal/nfnl"

// SetBeforeCommit installs a hook that sees, and may alter, every batch the
// client is about to send. Tests use it to make the kernel refuse a batch.
func SetBeforeCommit(c *Client, hook func(*nfnl.Batch)) { c.beforeCommit = hook }
