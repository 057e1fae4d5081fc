//go:build linux

package kernel

import (
	"context"
	"errors"

	"github.com/proxy-init/netlink-native/internal/netns"
	"github.com/proxy-init/netlink-native/internal/nfnl"
	"github.com/proxy-init/netlink-native/nat"
	"golang.org/x/sys/unix"
)

// classify turns a failure of step op into a *nat.KernelError, by the types
// the lower layers return (which namespace step, which batch message) and
// the errno: never by the text of a message.
func classify(op nat.Op, err error) error {
	if err == nil {
		return nil
	}
	var ke *nat.KernelError
	if errors.As(err, &ke) {
		return err
	}
	var enter *netns.EnterError
	var refused *nfnl.RefusedError
	switch {
	case errors.As(err, &enter):
		op = nat.OpEnterNamespace
	case errors.As(err, &refused):
		op = batchOp(refused.Msg)
	}
	return nat.NewKernelError(op, kind(op, err), err)
}

// classifyCtx is classify, but a failure after the context ended is the
// context's: the kernel's "no answer" is the deadline the caller set.
func classifyCtx(ctx context.Context, op nat.Op, err error) error {
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		err = errors.Join(err, ctx.Err())
	}
	return classify(op, err)
}

func batchOp(msg int) nat.Op {
	switch msg {
	case unix.NFT_MSG_NEWTABLE:
		return nat.OpCreateTable
	case unix.NFT_MSG_DELTABLE:
		return nat.OpDeleteTable
	case unix.NFT_MSG_NEWSET:
		return nat.OpCreateSet
	case unix.NFT_MSG_NEWSETELEM:
		return nat.OpAddElements
	case unix.NFT_MSG_NEWCHAIN:
		return nat.OpCreateChain
	case unix.NFT_MSG_NEWRULE:
		return nat.OpAddRule
	}
	return nat.OpStartTransaction
}

func kind(op nat.Op, err error) nat.Kind {
	switch {
	case errors.Is(err, unix.EPERM):
		return nat.KindPermission
	case errors.Is(err, unix.EACCES):
		if op == nat.OpOpenNamespace {
			// The file's mode, or the ptrace check that guards another
			// user's /proc/PID/ns/net: not a security module's policy.
			return nat.KindPermission
		}
		return nat.KindDenied
	case errors.Is(err, unix.ENOBUFS), errors.Is(err, unix.EMSGSIZE):
		return nat.KindTooLarge
	case errors.Is(err, unix.EPROTONOSUPPORT):
		return nat.KindMissingFeature // no nfnetlink at all
	case errors.Is(err, unix.EAFNOSUPPORT):
		if op == nat.OpOpenSocket || op == nat.OpCreateTable || op == nat.OpStartTransaction {
			return nat.KindMissingFeature
		}
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.EOPNOTSUPP):
		switch op {
		case nat.OpCreateTable, nat.OpCreateChain, nat.OpCreateSet, nat.OpAddElements, nat.OpAddRule:
			return nat.KindMissingFeature
		}
	}
	return nat.KindOther
}
