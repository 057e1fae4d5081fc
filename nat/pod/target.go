package pod

import (
	"context"
	"errors"
	"log/slog"
	"os"

	"github.com/proxy-init/netlink-native/nat"
)

// Target is where an operation acts, and where it logs. The zero Target is
// the kernel in the process's own network namespace; AtPath and AtFile name
// another, which needs CAP_SYS_ADMIN (setns) besides CAP_NET_ADMIN; OnEngine
// names an engine instead of the kernel.
type Target struct {
	// Logger receives one line per decision; nil discards them.
	Logger *slog.Logger

	where  where
	path   string
	file   *os.File
	engine nat.Engine
}

type where int

const (
	ownNetNS where = iota
	atPath
	atFile
	onEngine
)

// AtPath is the network namespace at path, such as /run/netns/NAME,
// /proc/PID/ns/net or a CNI_NETNS; "" is the process's own. A path that is
// not a namespace is a *nat.ConfigError of field nat.FieldNetNS.
func AtPath(path string) Target {
	if path == "" {
		return Target{}
	}
	return Target{where: atPath, path: path}
}

// AtFile is the network namespace open as f, which the caller keeps open
// until the operation returns: what the caller checked is what is
// programmed.
func AtFile(f *os.File) Target { return Target{where: atFile, file: f} }

// OnEngine is e instead of the kernel: a *nat.Fake in tests of a front end,
// or a *kernel.Client the caller keeps (the operation does not close it).
// If e is also a nat.Host, the operation probes, sets sysctls and looks up
// routes through it; otherwise it assumes IPv6 and no legacy iptables,
// explains a flow without a route, and refuses ApplyOptions.CloseWaitSecs.
func OnEngine(e nat.Engine) Target { return Target{where: onEngine, engine: e} }

func (t Target) logger() *slog.Logger { return logger(t.Logger) }

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// open is the engine t names, and how to release it.
func (t Target) open(ctx context.Context, log *slog.Logger) (nat.Engine, func(), error) {
	switch t.where {
	case onEngine:
		if t.engine == nil {
			return nil, nil, errors.New("pod: OnEngine(nil): the target has no engine")
		}
		return t.engine, func() {}, nil
	case atFile:
		if t.file == nil {
			return nil, nil, errors.New("pod: AtFile(nil): the target has no namespace file")
		}
	}
	return openKernel(ctx, t, log)
}
