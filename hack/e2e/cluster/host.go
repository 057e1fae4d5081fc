package cluster

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// HostState is what a run must leave as it found it on the host: named
// network namespaces, the host's interfaces, mounts, top-level cgroups of
// every hierarchy, and the sysctls kubelet and the CNI plugins write.
type HostState struct {
	NetNS      []string
	Interfaces []string
	Mounts     []string
	Cgroups    []string
	Sysctls    map[string]string
}

// watchedSysctls are compared before and after: kubelet's host-global ones
// and the forwarding switches the bridge plugin sets in its namespace.
var watchedSysctls = []string{
	"vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
	"kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes",
	"net/ipv4/ip_forward", "net/ipv4/conf/all/forwarding", "net/ipv6/conf/all/forwarding",
	"net/bridge/bridge-nf-call-iptables",
}

// noisyMounts are mount points other tools on a shared machine create and
// remove on their own (podman's storage); a run of ours never mounts there.
var noisyMounts = []string{"/var/lib/containers/", "/run/containers/", "/run/user/", "/run/netns/"}

// SnapshotHost records the host's state, from this process's (the host's)
// namespaces.
func SnapshotHost() (HostState, error) {
	var h HostState
	ns, _ := os.ReadDir("/run/netns")
	for _, e := range ns {
		h.NetNS = append(h.NetNS, e.Name())
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return h, fmt.Errorf("list the host's interfaces: %w", err)
	}
	for _, i := range ifs {
		h.Interfaces = append(h.Interfaces, i.Name)
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return h, fmt.Errorf("read mountinfo: %w", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		pre, post, _ := strings.Cut(s.Text(), " - ")
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 5 || len(qf) < 2 || noisy(pf[4]) {
			continue
		}
		h.Mounts = append(h.Mounts, pf[4]+" "+qf[0]+" "+qf[1])
	}
	cgs, err := hostCgroups()
	if err != nil {
		return h, err
	}
	for _, c := range cgs {
		ents, _ := os.ReadDir(c.dir)
		for _, e := range ents {
			if e.IsDir() {
				h.Cgroups = append(h.Cgroups, filepath.Join(c.dir, e.Name()))
			}
		}
	}
	h.Sysctls = map[string]string{}
	for _, k := range watchedSysctls {
		if b, err := os.ReadFile("/proc/sys/" + k); err == nil {
			h.Sysctls[k] = strings.TrimSpace(string(b))
		}
	}
	for _, l := range [][]string{h.NetNS, h.Interfaces, h.Mounts, h.Cgroups} {
		sort.Strings(l)
	}
	return h, nil
}

func noisy(mountPoint string) bool {
	for _, p := range noisyMounts {
		if strings.HasPrefix(mountPoint+"/", p) && mountPoint+"/" != p {
			return true
		}
	}
	return false
}

// ourMarks are substrings of what a run of ours could leave on the host if
// its isolation failed: containerd's network namespaces (cni-*), the
// node's and the pods' interfaces, our cgroup root and kubelet's, and
// mounts on the paths the node covers. On a shared machine other programs
// change the host meanwhile; Attributable keeps the differences a run of
// ours could have caused.
var ourMarks = []string{"netns cni-", "interface cni", "interface node0", "interface veth", "proxy-init-e2e", "kubepods",
	"mount /run", "mount /var/lib", "mount /var/log", "mount /sys", "mount /proc", "mount /tmp", "sysctl "}

// Attributable splits Diff's lines into those a run of ours could have
// caused and the others (another process's doing).
func Attributable(diff []string) (ours, others []string) {
	self := cgroupPrefix + strconv.Itoa(os.Getpid())
	for _, l := range diff {
		// A run's cgroup root (proxy-init-e2e-<pid>) that existed before
		// and is gone after belongs to another run that ended meanwhile
		// (go test runs hack/e2e's packages in parallel; other jobs share
		// the machine), or to a dead run Sweep removed, as it should: no
		// leak of ours. One that appeared and stayed is still ours.
		if strings.HasPrefix(l, "- cgroup ") && strings.HasPrefix(filepath.Base(l), cgroupPrefix) {
			others = append(others, l)
			continue
		}
		mine := false
		for _, m := range ourMarks {
			if strings.Contains(l, m) {
				mine = true
			}
		}
		// Another test binary's cluster (go test runs packages side by
		// side) names its cgroups with its own pid: not this run's doing.
		if i := strings.Index(l, cgroupPrefix); i >= 0 && !isSelf(l[i:], self) {
			mine = false
		}
		if mine {
			ours = append(ours, l)
		} else {
			others = append(others, l)
		}
	}
	return ours, others
}

// isSelf reports whether s starts with self and no further digit (pid 12
// is not pid 123).
func isSelf(s, self string) bool {
	rest, ok := strings.CutPrefix(s, self)
	return ok && (rest == "" || rest[0] < '0' || rest[0] > '9')
}

// Diff lists every difference from h to after, one line each ("+" appeared,
// "-" disappeared); empty when the host is unchanged.
func (h HostState) Diff(after HostState) []string {
	var out []string
	list := func(what string, a, b []string) {
		in := func(l []string, s string) bool {
			i := sort.SearchStrings(l, s)
			return i < len(l) && l[i] == s
		}
		for _, s := range b {
			if !in(a, s) {
				out = append(out, "+ "+what+" "+s)
			}
		}
		for _, s := range a {
			if !in(b, s) {
				out = append(out, "- "+what+" "+s)
			}
		}
	}
	list("netns", h.NetNS, after.NetNS)
	list("interface", h.Interfaces, after.Interfaces)
	list("mount", h.Mounts, after.Mounts)
	list("cgroup", h.Cgroups, after.Cgroups)
	for k, v := range h.Sysctls {
		if after.Sysctls[k] != v {
			out = append(out, fmt.Sprintf("~ sysctl %s %s -> %s", k, v, after.Sysctls[k]))
		}
	}
	return out
}
