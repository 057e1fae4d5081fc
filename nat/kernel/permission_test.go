//go:build linux

package kernel_test

import (
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/proxy-init/netlink-native/internal/testns"
	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/kernel"
	"github.com/proxy-init/netlink-native/nat/nattest"
	"golang.org/x/sys/unix"
)

// withoutNetAdmin runs fn on a locked thread whose effective capabilities
// lack CAP_NET_ADMIN (capabilities are per thread), then restores them. The
// kernel checks the capability of the thread that sends each netlink
// message, so fn meets the refusal a process without NET_ADMIN meets.
func withoutNetAdmin(t *testing.T, fn func()) {
	t.Helper()
	withoutCaps(t, fn, unix.CAP_NET_ADMIN)
}

// withoutCaps is withoutNetAdmin for any effective capabilities.
func withoutCaps(t *testing.T, fn func(), caps ...uint) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			t.Errorf("capget: %v", err)
			return // still locked: the thread is retired
		}
		saved := data
		for _, c := range caps {
			data[0].Effective &^= 1 << c
		}
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			t.Errorf("capset: %v", err)
			return
		}
		fn()
		if err := unix.Capset(&hdr, &saved[0]); err != nil {
			t.Errorf("restore capabilities (thread retired): %v", err)
			return
		}
		runtime.UnlockOSThread()
	}()
	<-done
}

// TestKernelPermissionIsClassified: the kernel's own EPERM, without
// CAP_NET_ADMIN, is a KindPermission error whose hint names the
// capability, and nothing is installed.
func TestKernelPermissionIsClassified(t *testing.T) {
	ns := testns.New(t)
	c := kernel.OpenClient(t, ns) // opened with the capability
	rs := nattest.MustPlan(t, nat.DefaultConfig())
	var err error
	withoutNetAdmin(t, func() { _, err = c.Apply(t.Context(), rs) })
	if !nat.IsPermission(err) || nat.IsDeniedByPolicy(err) || !errors.Is(err, unix.EPERM) || !strings.Contains(err.Error(), "CAP_NET_ADMIN") {
		t.Fatalf("apply without CAP_NET_ADMIN: %v (permission %v), want a permission error naming CAP_NET_ADMIN", err, nat.IsPermission(err))
	}
	if got := ns.Ruleset(t); got != "" {
		t.Fatalf("a refused apply installed:\n%s", got)
	}
	// The same client works once the capability is back.
	kernel.MustApply(t, c, rs)
}

// TestKernelUnreadableNamespaceFileIsPermission: a namespace path the
// process may not open (EACCES from the file's mode, or from the ptrace
// check on another user's /proc/PID/ns/net) is a permission error of the
// open-namespace step, with a hint about access to the file; it is not
// called a security module's denial, which EACCES means for netlink.
func TestKernelUnreadableNamespaceFileIsPermission(t *testing.T) {
	nattest.RequireRoot(t)
	path := t.TempDir() + "/netns"
	if err := os.WriteFile(path, nil, 0); err != nil {
		t.Fatal(err)
	}
	var err error
	withoutCaps(t, func() {
		_, err = kernel.Open(t.Context(), kernel.AtPath(path), kernel.Options{})
	}, unix.CAP_DAC_OVERRIDE, unix.CAP_DAC_READ_SEARCH)
	if !errors.Is(err, unix.EACCES) || nat.OpOf(err) != nat.OpOpenNamespace || !nat.IsPermission(err) || nat.IsDeniedByPolicy(err) ||
		strings.Contains(err.Error(), "security module") || strings.Contains(err.Error(), "CAP_NET_ADMIN") {
		t.Fatalf("open of an unreadable namespace file: %v (op %v, permission %v, denied by policy %v)", err, nat.OpOf(err), nat.IsPermission(err), nat.IsDeniedByPolicy(err))
	}
}
