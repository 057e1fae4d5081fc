package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cgroupPrefix names the cgroup root kubelet gets: cgroupPrefix + the test
// process's pid, so a sweep can tell whose it is.
const cgroupPrefix = "proxy-init-e2e-"

// v1Dirs returns the mount points of the host's cgroup v1 hierarchies.
func v1Dirs() ([]string, error) {
	cgs, err := hostCgroups()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range cgs {
		if c.fstype == "cgroup" {
			out = append(out, c.dir)
		}
	}
	return out, nil
}

// makeCgroupRoot creates name in every v1 hierarchy beforehand (kubelet
// requires its cgroup root to exist); cpuset needs cpus and mems copied from
// its parent before anything can join it.
func makeCgroupRoot(name string) error {
	dirs, err := v1Dirs()
	if err != nil {
		return err
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if err := os.Mkdir(p, 0o755); err != nil && !os.IsExist(err) {
			return fmt.Errorf("create cgroup %s: %w", p, err)
		}
		if filepath.Base(d) == "cpuset" {
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				v, err := os.ReadFile(filepath.Join(d, f))
				if err != nil {
					return fmt.Errorf("read %s: %w", f, err)
				}
				if err := os.WriteFile(filepath.Join(p, f), v, 0o644); err != nil {
					return fmt.Errorf("write %s/%s: %w", p, f, err)
				}
			}
		}
	}
	return nil
}

// allDirs returns the mount points of every cgroup hierarchy, v1 and v2:
// kubelet also creates its cgroup root in the cgroup2 hierarchy of a
// hybrid host.
func allDirs() ([]string, error) {
	cgs, err := hostCgroups()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range cgs {
		out = append(out, c.dir)
	}
	return out, nil
}

// removeCgroupRoot kills every process left in name's tree (the pods'
// containers), then removes the tree, deepest first, in every hierarchy.
func removeCgroupRoot(name string) error {
	dirs, err := allDirs()
	if err != nil {
		return err
	}
	var errs []string
	for attempt := 0; attempt < 50; attempt++ {
		errs = errs[:0]
		alive := false
		for _, d := range dirs {
			root := filepath.Join(d, name)
			var tree []string
			_ = filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
				if err == nil && e.IsDir() {
					tree = append(tree, p)
				}
				return nil
			})
			for _, p := range tree {
				b, _ := os.ReadFile(filepath.Join(p, "cgroup.procs"))
				for _, f := range strings.Fields(string(b)) {
					if pid, err := strconv.Atoi(f); err == nil {
						alive = true
						_ = syscall.Kill(pid, syscall.SIGKILL)
					}
				}
			}
			// Deepest first: a cgroup with children cannot be removed.
			sort.Slice(tree, func(i, j int) bool { return len(tree[i]) > len(tree[j]) })
			for _, p := range tree {
				if err := syscall.Rmdir(p); err != nil && err != syscall.ENOENT {
					errs = append(errs, fmt.Sprintf("%s: %v", p, err))
				}
			}
		}
		if len(errs) == 0 && !alive {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(errs) > 0 {
		return fmt.Errorf("remove cgroups: %s", strings.Join(errs, "; "))
	}
	return nil
}
