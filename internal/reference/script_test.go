package reference

import (
	"path/filepath"
	"testing"

	"github.com/proxy-init/netlink-native/internal/topology"
	"github.com/proxy-init/netlink-native/nat"
)

// TestScriptMatchesInstall keeps hack/iptables-reference.sh (what the
// benchmarks time) and Install (what the tests compare with) the same rules.
func TestScriptMatchesInstall(t *testing.T) {
	t.Parallel()
	script, err := filepath.Abs("../../hack/iptables-reference.sh")
	if err != nil {
		t.Fatal(err)
	}
	listed := nat.DefaultConfig()
	listed.ProxyGID = 2103
	listed.PortsToRedirect = ports(t, "80,8000-8080")
	listed.IPv6 = false
	for _, c := range []struct {
		name string
		cfg  nat.Config
		args []string
	}{
		{"ignores", testConfig(t), []string{
			"--inbound-ports-to-ignore", "4190,4191,5000,5001,5002,5003,5004,5005,5006,5007,5008,5009,5010,5011,5012,5013,5014,5015,6000-6010",
			"--outbound-ports-to-ignore", "443",
			"--subnets-to-ignore", "10.1.0.0/16,fd00::/8",
		}},
		{"redirect-listed", listed, []string{"-g", "2103", "-r", "80", "--ports-to-redirect=8000-8080", "--ipv6", "false"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tp := topology.New(t)
			// Twice, like a re-run of the init container.
			for range 2 {
				if _, err := tp.Run(topology.Pod, "bash", append([]string{script}, c.args...)...); err != nil {
					t.Fatal(err)
				}
				if err := Install(t.Context(), tp.Path(topology.Peer), c.cfg); err != nil {
					t.Fatal(err)
				}
			}
			fromScript, fromGo := saveBoth(t, tp.PodPath()), saveBoth(t, tp.Path(topology.Peer))
			for _, f := range []Family{IPv4, IPv6} {
				if a, b := rules(fromScript[f]), rules(fromGo[f]); a != b {
					t.Errorf("%s: script and Install differ:\nscript:\n%s\nInstall:\n%s", f, a, b)
				}
			}
		})
	}
}
