package cniinstall

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTokenRotation: the kubelet's ..data swap gives a new kubeconfig, 0600.
func TestTokenRotation(t *testing.T) {
	tr := newTree(t)
	r := start(t, tr)
	tr.rotate(t, "token-2\n", "CA-2\n")
	want := kubeconfigFor("https://10.96.0.1:443", "token-2", "Q0EtMg==")
	eventually(t, "kubeconfig with the new token", func() bool { return tr.read(t, "ZZZ-linkerd-cni-kubeconfig") == want })
	fi, err := os.Stat(filepath.Join(tr.net, "ZZZ-linkerd-cni-kubeconfig"))
	must(t, err)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	// Removed behind our back: written again.
	must(t, os.Remove(filepath.Join(tr.net, "ZZZ-linkerd-cni-kubeconfig")))
	eventually(t, "kubeconfig written again", func() bool {
		b, err := os.ReadFile(filepath.Join(tr.net, "ZZZ-linkerd-cni-kubeconfig"))
		return err == nil && string(b) == want
	})
	if strings.Contains(r.log.String(), "token-") {
		t.Fatalf("the log holds the token:\n%s", r.log.String())
	}
	must(t, r.stop())
	if _, err := os.Stat(filepath.Join(tr.net, "ZZZ-linkerd-cni-kubeconfig")); !os.IsNotExist(err) {
		t.Fatalf("kubeconfig left behind: %v", err)
	}
}

// TestIPv6Server: the kubeconfig of an IPv6 cluster has a URL a client
// can parse.
func TestIPv6Server(t *testing.T) {
	tr := newTree(t)
	tr.env["KUBERNETES_SERVICE_HOST"] = "fd00::1"
	start(t, tr)
	if got := tr.read(t, "ZZZ-linkerd-cni-kubeconfig"); got != kubeconfigFor("https://[fd00::1]:443", "token-1", "Q0EtMQ==") {
		t.Fatalf("kubeconfig:\n%s", got)
	}
}

// TestConfUpgradedAndRestored: a single-plugin .conf becomes a .conflist
// with our entry, and comes back as it was on removal.
func TestConfUpgradedAndRestored(t *testing.T) {
	tr := newTree(t)
	conf := `{"cniVersion": "0.4.0", "name": "cbr0", "type": "flannel", "delegate": {"isDefaultGateway": true}}`
	tr.write(t, "10-flannel.conf", conf)
	before := snapshot(t, tr.host)
	r := start(t, tr)
	want := `{
  "cniVersion": "0.4.0",
  "name": "cbr0",
  "plugins": [
    {
      "name": "cbr0",
      "type": "flannel",
      "delegate": {
        "isDefaultGateway": true
      }
    },
    {
      "name": "linkerd-cni",
      "type": "linkerd-cni",
      "kubernetes": {
        "kubeconfig": "/etc/cni/net.d/ZZZ-linkerd-cni-kubeconfig"
      }
    }
  ]
}
`
	if got := tr.read(t, "10-flannel.conflist"); got != want {
		t.Fatalf("conflist:\n%s", got)
	}
	if _, err := os.Stat(filepath.Join(tr.net, "10-flannel.conf")); !os.IsNotExist(err) {
		t.Fatalf(".conf still there: %v", err)
	}
	// The pod network writes its .conf again (Cilium does, at restart):
	// upgraded again.
	tr.write(t, "10-flannel.conf", conf)
	eventually(t, ".conf upgraded again", func() bool {
		_, err := os.Stat(filepath.Join(tr.net, "10-flannel.conf"))
		return os.IsNotExist(err) && tr.read(t, "10-flannel.conflist") == want
	})
	must(t, r.stop())
	sameSnapshot(t, "after removal", snapshot(t, tr.host), before)
}

// TestSymlinkedConflist: the file a link names is patched and the link
// stays (upstream renames a regular file over the link: proxy-init#635);
// removal restores the target.
func TestSymlinkedConflist(t *testing.T) {
	tr := newTree(t)
	must(t, os.MkdirAll(filepath.Join(tr.host, "etc/calico"), 0o755))
	must(t, os.WriteFile(filepath.Join(tr.host, "etc/calico/real.conflist"), []byte(calico), 0o644))
	// Absolute, as made on the host, and relative.
	must(t, os.Symlink("/etc/calico/real.conflist", filepath.Join(tr.net, "10-calico.conflist")))
	must(t, os.WriteFile(filepath.Join(tr.net, "real2.json"), []byte(calico), 0o644))
	must(t, os.Symlink("real2.json", filepath.Join(tr.net, "20-rel.conflist")))
	before := snapshot(t, tr.host)
	r := start(t, tr)
	for link, target := range map[string]string{"10-calico.conflist": "/etc/calico/real.conflist", "20-rel.conflist": "real2.json"} {
		got, err := os.Readlink(filepath.Join(tr.net, link))
		if err != nil || got != target {
			t.Fatalf("%s: link %q, %v; want -> %s", link, got, err, target)
		}
		real, err := resolve(filepath.Join(tr.net, link), tr.host)
		must(t, err)
		if got, _ := os.ReadFile(real); string(got) != calicoPatched {
			t.Fatalf("%s:\n%s", link, got)
		}
	}
	// The linked file rewritten: patched again through the link.
	must(t, os.WriteFile(filepath.Join(tr.net, "real2.json"), []byte(calico), 0o644))
	eventually(t, "linked file patched again", func() bool { return tr.read(t, "20-rel.conflist") == calicoPatched })
	must(t, r.stop())
	sameSnapshot(t, "after removal", snapshot(t, tr.host), before)
}

// TestMalformedLeftAlone: a malformed conflist is left byte-identical and
// logged once with its name; the others are still served (upstream's
// installer exits, leaving its changes behind).
func TestMalformedLeftAlone(t *testing.T) {
	tr := newTree(t)
	bad := `{"name": "broken", "plugins": [{"type": "calico"},]}`
	tr.write(t, "05-broken.conflist", bad)
	tr.write(t, "10-calico.conflist", calico)
	r := start(t, tr)
	if got := tr.read(t, "10-calico.conflist"); got != calicoPatched {
		t.Fatalf("the good file:\n%s", got)
	}
	// Events that make the installer look again, then a new good file.
	tr.write(t, "10-calico.conflist", calico)
	eventually(t, "re-patched", func() bool { return tr.read(t, "10-calico.conflist") == calicoPatched })
	tr.write(t, "30-late.conflist", calico)
	eventually(t, "a later file patched", func() bool { return tr.read(t, "30-late.conflist") == calicoPatched })
	if got := tr.read(t, "05-broken.conflist"); got != bad {
		t.Fatalf("the malformed file changed:\n%s", got)
	}
	lines := 0
	for _, l := range strings.Split(r.log.String(), "\n") {
		if strings.Contains(l, "malformed") {
			lines++
			if !strings.Contains(l, "05-broken.conflist") {
				t.Errorf("the line does not name the file: %s", l)
			}
		}
	}
	if lines != 1 {
		t.Fatalf("%d lines about the malformed file, want 1:\n%s", lines, r.log.String())
	}
	must(t, r.stop())
	if got := tr.read(t, "05-broken.conflist"); got != bad {
		t.Fatalf("the malformed file changed on removal:\n%s", got)
	}
}

// TestStaleTempsRemoved: what a killed installer left (a temporary file,
// which no runtime loads) is cleared at the next start.
func TestStaleTempsRemoved(t *testing.T) {
	tr := newTree(t)
	for _, f := range []string{filepath.Join(tr.net, ".10-calico.conflist"+tempSuffix), filepath.Join(tr.bin, ".linkerd-cni"+tempSuffix)} {
		must(t, os.WriteFile(f, []byte("half"), 0o644))
	}
	start(t, tr)
	for _, dir := range []string{tr.net, tr.bin} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), tempSuffix) {
				t.Errorf("stale %s left", e.Name())
			}
		}
	}
}

// TestUnreachableLink: a conflist linked to a file outside what the
// container mounts is named in one warning, and the others still served.
func TestUnreachableLink(t *testing.T) {
	tr := newTree(t)
	must(t, os.Symlink("/var/lib/calico/10-calico.conflist", filepath.Join(tr.net, "10-calico.conflist")))
	tr.write(t, "20-ok.conflist", calico)
	r := start(t, tr)
	if got := tr.read(t, "20-ok.conflist"); got != calicoPatched {
		t.Fatalf("the other file:\n%s", got)
	}
	tr.write(t, "30-ok.conflist", calico)
	eventually(t, "a later file patched", func() bool { return tr.read(t, "30-ok.conflist") == calicoPatched })
	n := 0
	for _, l := range strings.Split(r.log.String(), "\n") {
		if strings.Contains(l, "10-calico.conflist") {
			n++
		}
	}
	if n != 1 || !strings.Contains(r.log.String(), "not reachable in this container") {
		t.Fatalf("%d lines name the link:\n%s", n, r.log.String())
	}
}

// TestShellInstallerVariables: the variables of upstream's former shell
// installer that its Go installer dropped: KUBECONFIG_MODE,
// KUBERNETES_SERVICE_PROTOCOL, SKIP_TLS_VERIFY (no CA needed then).
func TestShellInstallerVariables(t *testing.T) {
	tr := newTree(t)
	tr.env["KUBECONFIG_MODE"] = "640"
	tr.env["KUBERNETES_SERVICE_PROTOCOL"] = "http"
	tr.env["SKIP_TLS_VERIFY"] = "true"
	tr.env["KUBE_CA_FILE"] = filepath.Join(tr.root, "no-such-ca.crt")
	start(t, tr)
	want := strings.Replace(kubeconfigFor("http://10.96.0.1:443", "token-1", ""), "certificate-authority-data: ", "insecure-skip-tls-verify: true", 1)
	if got := tr.read(t, "ZZZ-linkerd-cni-kubeconfig"); got != want {
		t.Fatalf("kubeconfig:\n%s\nwant\n%s", got, want)
	}
	fi, err := os.Stat(filepath.Join(tr.net, "ZZZ-linkerd-cni-kubeconfig"))
	must(t, err)
	if fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v", fi.Mode())
	}
}
