package cluster

import (
	"os"
	"strconv"
	"testing"
)

// TestAttributableLeavesOtherRunsAlone: go test runs packages side by side,
// so another test binary's cluster cgroups come and go during a run; they
// are not this run's doing, while its own are.
func TestAttributableLeavesOtherRunsAlone(t *testing.T) {
	self := strconv.Itoa(os.Getpid())
	diff := []string{
		"- cgroup /sys/fs/cgroup/memory/" + cgroupPrefix + "1" + self, // another pid sharing our digits
		"+ cgroup /sys/fs/cgroup/pids/" + cgroupPrefix + self + "0",
		"+ cgroup /sys/fs/cgroup/pids/" + cgroupPrefix + self,
		"+ netns cni-1234",
		"+ netns someone-elses",
	}
	ours, others := Attributable(diff)
	if len(ours) != 2 || ours[0] != diff[2] || ours[1] != diff[3] {
		t.Errorf("ours = %q, want our own cgroup and the cni netns", ours)
	}
	if len(others) != 3 {
		t.Errorf("others = %q, want the two other runs' cgroups and the foreign netns", others)
	}
}
