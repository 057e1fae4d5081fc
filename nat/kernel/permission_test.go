//go:build linux

package kernel_test

import (
	"errors"
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
		data[0].Effective &^= 1 << unix.CAP_NET_ADMIN
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
