package nattest

import (
	"testing"

	"github.com/proxy-init/netlink-native/nat"
)

// MustPlan plans a configuration that must be valid, failing the test
// otherwise. It works on any GOOS.
func MustPlan(t testing.TB, c nat.Config) *nat.Ruleset {
	t.Helper()
	rs, err := nat.Plan(c)
	if err != nil {
		t.Fatalf("nat.Plan: %v", err)
	}
	return rs
}
