package pod

import (
	"context"
	"errors"
	"log/slog"

	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/kernel"
)

// openKernel opens the kernel engine in the request's namespace.
func openKernel(ctx context.Context, req Request, log *slog.Logger) (nat.Engine, func(), error) {
	var target kernel.Target
	switch {
	case req.NetNS != "" && req.NetNSFile != nil:
		return nil, nil, errors.New("pod: Request.NetNS and Request.NetNSFile are exclusive")
	case req.NetNS != "":
		target = kernel.AtPath(req.NetNS)
	case req.NetNSFile != nil:
		target = kernel.AtFD(int(req.NetNSFile.Fd()))
	}
	c, err := kernel.Open(ctx, target, kernel.Options{Logger: log})
	if err != nil {
		if req.NetNS != "" && nat.OpOf(err) == nat.OpOpenNamespace {
			// A path that is not a namespace is bad input, named by the flag.
			var ke *nat.KernelError
			errors.As(err, &ke)
			return nil, nil, &nat.ConfigError{Field: nat.FieldNetNS, Value: req.NetNS, Reason: ke.Err.Error(), Err: err}
		}
		return nil, nil, err
	}
	return c, func() { c.Close() }, nil
}
