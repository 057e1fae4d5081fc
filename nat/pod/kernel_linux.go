package pod

import (
	"context"
	"errors"
	"log/slog"

	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/kernel"
)

// openKernel opens the kernel engine in t's namespace.
func openKernel(ctx context.Context, t Target, log *slog.Logger) (nat.Engine, func(), error) {
	var target kernel.Target
	switch t.where {
	case atPath:
		target = kernel.AtPath(t.path)
	case atFile:
		target = kernel.AtFD(int(t.file.Fd()))
	}
	c, err := kernel.Open(ctx, target, kernel.Options{Logger: log})
	if err != nil {
		if t.where == atPath && nat.OpOf(err) == nat.OpOpenNamespace {
			// A path that is not a namespace is bad input, named by the
			// front end's word for the field.
			var ke *nat.KernelError
			errors.As(err, &ke)
			return nil, nil, &nat.ConfigError{Field: nat.FieldNetNS, Value: t.path, Reason: ke.Err.Error(), Err: err}
		}
		return nil, nil, err
	}
	return c, func() { c.Close() }, nil
}
