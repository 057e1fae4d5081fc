package nat_test

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"

	. "github.com/proxy-init/netlink-native/nat"
)

// TestErrorClassification: programs decide by Op and Kind, wrapped or not;
// the hints follow from them.
func TestErrorClassification(t *testing.T) {
	for _, tc := range []struct {
		err                         error
		permission, policy, feature bool
		hint                        string
	}{
		{NewKernelError(OpCreateChain, KindPermission, syscall.EPERM), true, false, false, "CAP_NET_ADMIN"},
		{NewKernelError(OpEnterNamespace, KindPermission, syscall.EPERM), true, false, false, "CAP_SYS_ADMIN"},
		{NewKernelError(OpStartTransaction, KindDenied, syscall.EACCES), true, true, false, "SELinux or AppArmor"},
		{NewKernelError(OpAddRule, KindMissingFeature, syscall.ENOENT), false, false, true, "CONFIG_NFT_REDIR"},
		{NewKernelError(OpCreateChain, KindMissingFeature, syscall.EOPNOTSUPP), false, false, true, "nft_chain_nat"},
		{NewKernelError(OpCreateSet, KindMissingFeature, syscall.ENOENT), false, false, true, "CONFIG_NFT_SET_RBTREE"},
		{NewKernelError(OpCreateTable, KindMissingFeature, syscall.EAFNOSUPPORT), false, false, true, "CONFIG_NF_TABLES_IPV4/IPV6"},
		{NewKernelError(OpOpenSocket, KindMissingFeature, syscall.EPROTONOSUPPORT), false, false, true, "CONFIG_NF_TABLES)"},
		{NewKernelError(OpRead, KindOther, fs.ErrNotExist), false, false, false, ""},
		{&ConfigError{Name: "--x", Value: "y", Reason: "z"}, false, false, false, ""},
	} {
		wrapped := fmt.Errorf("set up pod: %w", tc.err)
		for _, err := range []error{tc.err, wrapped} {
			if IsPermission(err) != tc.permission || IsDeniedByPolicy(err) != tc.policy || IsMissingFeature(err) != tc.feature {
				t.Errorf("%v: permission %v policy %v feature %v", err, IsPermission(err), IsDeniedByPolicy(err), IsMissingFeature(err))
			}
			if tc.hint != "" && !strings.Contains(err.Error(), tc.hint) {
				t.Errorf("%v: want the hint to name %s", err, tc.hint)
			}
		}
		var ke *KernelError
		if errors.As(tc.err, &ke) && OpOf(wrapped) != ke.Op {
			t.Errorf("OpOf(%v) = %v, want %v", wrapped, OpOf(wrapped), ke.Op)
		}
	}
	if !IsConfig(fmt.Errorf("x: %w", &ConfigError{})) || IsConfig(errors.New("x")) {
		t.Error("IsConfig")
	}
}
