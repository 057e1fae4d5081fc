package nat

import (
	"errors"
	"fmt"
	"strings"

	"github.com/proxy-init/netlink-native/internal/nfnl"
	"golang.org/x/sys/unix"
)

// KernelError is a failure of the kernel or the system, explained in words a
// user can act on. Err keeps the cause for errors.Is and errors.As.
type KernelError struct {
	Hint string
	Err  error
}

func (e *KernelError) Error() string {
	if e.Hint == "" {
		return e.Err.Error()
	}
	return e.Err.Error() + ": " + e.Hint
}

func (e *KernelError) Unwrap() error { return e.Err }

// explain attaches to err the sentence that tells the user what to do.
func explain(err error, inOtherNetNS bool) error {
	if err == nil {
		return nil
	}
	var ke *KernelError
	if errors.As(err, &ke) {
		return err
	}
	var what string
	var refused *nfnl.KernelError
	if errors.As(err, &refused) {
		what = refused.What
	}
	hint := ""
	switch {
	case errors.Is(err, unix.EPERM) && inOtherNetNS && strings.Contains(err.Error(), "enter network namespace"):
		hint = "entering another network namespace with --netns needs CAP_SYS_ADMIN (setns) besides CAP_NET_ADMIN; run inside the pod's namespace instead to need CAP_NET_ADMIN only"
	case errors.Is(err, unix.EPERM):
		hint = "proxy-init needs CAP_NET_ADMIN in the target network namespace (add NET_ADMIN to the container's capabilities)"
	case errors.Is(err, unix.EACCES):
		hint = "denied by a security module (SELinux or AppArmor policy), not by missing capabilities"
	case errors.Is(err, unix.EPROTONOSUPPORT) || errors.Is(err, unix.EAFNOSUPPORT) && what == "":
		hint = "the kernel has no nfnetlink/nf_tables support (CONFIG_NF_TABLES)"
	case (errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EAFNOSUPPORT)) && strings.HasPrefix(what, "create table"):
		hint = "the kernel lacks nf_tables support for this address family (CONFIG_NF_TABLES_IPV4/IPV6)"
	case (errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EOPNOTSUPP)) && strings.HasPrefix(what, "create chain"):
		hint = "the kernel lacks nf_tables NAT chains for this family (CONFIG_NFT_NAT, nft_chain_nat module)"
	case (errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EOPNOTSUPP)) && strings.HasPrefix(what, "create set"):
		hint = "the kernel lacks nf_tables interval sets (CONFIG_NFT_SET_RBTREE)"
	case (errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EOPNOTSUPP)) && strings.HasPrefix(what, "add rule"):
		hint = "the kernel lacks an nf_tables expression this rule uses (redirect needs CONFIG_NFT_REDIR; counter, meta, lookup are built in)"
	case errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.EMSGSIZE):
		hint = "the batch is larger than the kernel accepts in one message; please report this with your list sizes"
	}
	return &KernelError{Hint: hint, Err: err}
}

// Diff returns a line diff of two texts ("" when equal): lines only in want
// start with "-", lines only in got with "+", and unchanged lines with " ".
// Common leading and trailing lines are trimmed first, and a middle too large
// for a quadratic LCS (a listing of huge sets) is shown as removed-then-added.
func Diff(want, got string) string {
	if want == got {
		return ""
	}
	a, b := strings.Split(want, "\n"), strings.Split(got, "\n")
	var out strings.Builder
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	// A few lines of context around the change are enough to place it.
	for _, l := range a[max(0, pre-3):pre] {
		fmt.Fprintf(&out, " %s\n", l)
	}
	diffMiddle(&out, a[pre:len(a)-suf], b[pre:len(b)-suf])
	for _, l := range a[len(a)-suf : min(len(a), len(a)-suf+3)] {
		fmt.Fprintf(&out, " %s\n", l)
	}
	return out.String()
}

const maxDiffCells = 4 << 20

func diffMiddle(out *strings.Builder, a, b []string) {
	if (len(a)+1)*(len(b)+1) > maxDiffCells {
		for _, l := range a {
			fmt.Fprintf(out, "-%s\n", l)
		}
		for _, l := range b {
			fmt.Fprintf(out, "+%s\n", l)
		}
		return
	}
	lcs := make([][]int32, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int32, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			fmt.Fprintf(out, " %s\n", a[i])
			i, j = i+1, j+1
		case j < len(b) && (i == len(a) || lcs[i][j+1] >= lcs[i+1][j]):
			fmt.Fprintf(out, "+%s\n", b[j])
			j++
		default:
			fmt.Fprintf(out, "-%s\n", a[i])
			i++
		}
	}
}
