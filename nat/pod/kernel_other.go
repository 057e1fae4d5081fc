//go:build !linux

package pod

import (
	"context"
	"errors"
	"log/slog"

	"github.com/proxy-init/netlink-native/nat"
)

// openKernel: the kernel engine (nat/kernel) is Linux's; elsewhere Run
// works on a Request.Engine only, such as a *nat.Fake in a front end's tests.
func openKernel(context.Context, Request, *slog.Logger) (nat.Engine, func(), error) {
	return nil, nil, errors.New("pod: no kernel engine on this system; set Request.Engine (e.g. a *nat.Fake)")
}
