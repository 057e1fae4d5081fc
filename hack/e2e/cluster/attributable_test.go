package cluster

import (
	"os"
	"strconv"
	"testing"
)

// TestAttributableCgroupRoots: a run's cgroup root that disappeared is
// another run's ending (or Sweep's work); this run's own root that appeared
// and stayed is a leak.
func TestAttributableCgroupRoots(t *testing.T) {
	gone := "- cgroup /sys/fs/cgroup/pids/proxy-init-e2e-9932"
	left := "+ cgroup /sys/fs/cgroup/pids/proxy-init-e2e-" + strconv.Itoa(os.Getpid())
	ours, others := Attributable([]string{gone, left, "- netns cni-1"})
	if len(ours) != 2 || ours[0] != left || len(others) != 1 || others[0] != gone {
		t.Errorf("ours %q, others %q", ours, others)
	}
}
