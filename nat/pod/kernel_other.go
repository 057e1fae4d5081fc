//go:build !linux

package pod

import (
	"context"
	"errors"
	"log/slog"

	"github.com/proxy-init/netlink-native/nat"
)

// openKernel: the kernel engine (nat/kernel) is Linux's; elsewhere the
// operations act on an OnEngine target only, such as a *nat.Fake in a front
// end's tests.
func openKernel(context.Context, Target, *slog.Logger) (nat.Engine, func(), error) {
	return nil, nil, errors.New("pod: no kernel engine on this system; use an OnEngine target (e.g. a *nat.Fake)")
}
