package nat

import (
	"errors"
	"fmt"
)

// Op is the step of a run that a *KernelError happened in. Front ends
// decide what to tell the user by it (and by Kind), never by the message's
// text.
type Op int

const (
	OpOther            Op = iota // a step outside the ones below (a wrapped error of unknown origin)
	OpOpenNamespace              // opening the target namespace's file
	OpEnterNamespace             // entering the target namespace (setns)
	OpOpenSocket                 // opening the netfilter netlink socket
	OpRead                       // reading tables, sets, chains, rules or the generation
	OpStartTransaction           // the kernel refused the whole batch at its start
	OpCreateTable                // a message of the batch: create a table
	OpDeleteTable                // delete a table
	OpCreateSet                  // create a set
	OpAddElements                // add set elements
	OpCreateChain                // create a chain
	OpAddRule                    // add a rule
	OpSysctl                     // open or write a sysctl of the namespace
	OpProbe                      // read what the namespace has (IPv6, legacy iptables)
)

var opNames = [...]string{"other", "open namespace", "enter namespace", "open socket", "read",
	"start transaction", "create table", "delete table", "create set", "add elements",
	"create chain", "add rule", "sysctl", "probe"}

func (o Op) String() string {
	if o >= 0 && int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("op(%d)", int(o))
}

// Kind classifies why a step failed.
type Kind int

const (
	KindOther          Kind = iota // none of the reasons below: the message and the cause say what happened
	KindPermission                 // EPERM: a capability is missing
	KindDenied                     // EACCES: a security module (SELinux, AppArmor) refused
	KindMissingFeature             // the kernel lacks what the step needs (module, config option)
	KindTooLarge                   // the kernel refused the batch's size (ENOBUFS, EMSGSIZE)
	KindConflict                   // other writers kept changing the ruleset
)

// KernelError is a failure of the kernel or the system, explained in words a
// user can act on. Err keeps the cause for errors.Is and errors.As; Op and
// Kind classify it for programs (see IsPermission, IsMissingFeature).
type KernelError struct {
	Op   Op
	Kind Kind
	// Hint says what to do; NewKernelError fills it in from Op and Kind.
	Hint string
	Err  error
}

// NewKernelError classifies err as having happened in op for reason kind,
// with the hint for that pair.
func NewKernelError(op Op, kind Kind, err error) *KernelError {
	return &KernelError{Op: op, Kind: kind, Hint: hint(op, kind), Err: err}
}

func (e *KernelError) Error() string {
	if e.Hint == "" {
		return e.Err.Error()
	}
	return e.Err.Error() + ": " + e.Hint
}

func (e *KernelError) Unwrap() error { return e.Err }

// IsPermission reports whether err is a refusal for want of privilege: a
// missing capability (CAP_NET_ADMIN, or CAP_SYS_ADMIN to enter another
// namespace) or a security module's denial.
func IsPermission(err error) bool {
	k := kindOf(err)
	return k == KindPermission || k == KindDenied
}

// IsDeniedByPolicy reports whether a security module, not a missing
// capability, refused (EACCES).
func IsDeniedByPolicy(err error) bool { return kindOf(err) == KindDenied }

// IsMissingFeature reports whether the kernel lacks something a step needs:
// nf_tables itself, a family, NAT chains, interval sets or an expression.
func IsMissingFeature(err error) bool { return kindOf(err) == KindMissingFeature }

// IsConfig reports whether err is a refused configuration (*ConfigError):
// nothing was touched.
func IsConfig(err error) bool {
	var ce *ConfigError
	return errors.As(err, &ce)
}

// OpOf returns the step a *KernelError in err's chain happened in, or
// OpOther.
func OpOf(err error) Op {
	var ke *KernelError
	if errors.As(err, &ke) {
		return ke.Op
	}
	return OpOther
}

func kindOf(err error) Kind {
	var ke *KernelError
	if errors.As(err, &ke) {
		return ke.Kind
	}
	return KindOther
}

// hint is the sentence that tells the user what to do about a failure.
func hint(op Op, kind Kind) string {
	switch kind {
	case KindPermission:
		if op == OpOpenNamespace {
			return "opening the namespace file needs read access to it; /proc/PID/ns/net of another user's process also needs CAP_SYS_PTRACE"
		}
		if op == OpEnterNamespace {
			return "entering another network namespace needs CAP_SYS_ADMIN (setns) besides CAP_NET_ADMIN; run inside the pod's namespace instead to need CAP_NET_ADMIN only"
		}
		return "proxy-init needs CAP_NET_ADMIN in the target network namespace (add NET_ADMIN to the container's capabilities)"
	case KindDenied:
		return "denied by a security module (SELinux or AppArmor policy), not by missing capabilities"
	case KindTooLarge:
		return "the batch is larger than the kernel accepts in one message; please report this with your list sizes"
	case KindConflict:
		return "another process keeps rewriting the ruleset"
	case KindMissingFeature:
		switch op {
		case OpCreateTable:
			return "the kernel lacks nf_tables support for this address family (CONFIG_NF_TABLES_IPV4/IPV6)"
		case OpCreateChain:
			return "the kernel lacks nf_tables NAT chains for this family (CONFIG_NFT_NAT, nft_chain_nat module)"
		case OpCreateSet, OpAddElements:
			return "the kernel lacks nf_tables interval sets (CONFIG_NFT_SET_RBTREE)"
		case OpAddRule:
			return "the kernel lacks an nf_tables expression this rule uses (redirect needs CONFIG_NFT_REDIR; counter, meta, lookup are built in)"
		}
		return "the kernel has no nfnetlink/nf_tables support (CONFIG_NF_TABLES)"
	}
	return ""
}
