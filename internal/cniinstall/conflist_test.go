package cniinstall

import (
	"strings"
	"testing"
)

const ours = `{"name":"linkerd-cni","type":"linkerd-cni","kubernetes":{"kubeconfig":"/etc/cni/net.d/ZZZ-linkerd-cni-kubeconfig"}}`

func TestPatchListAppendsKeepingOrderAndNumbers(t *testing.T) {
	in := `{"name": "k8s-pod-network", "cniVersion": "0.3.1",
 "plugins": [{"type": "calico", "mtu": 1000000, "z": 1, "a": 2}, {"type": "portmap"}]}`
	out, err := patchList([]byte(in), []byte(ours), "linkerd-cni")
	if err != nil {
		t.Fatal(err)
	}
	// Upstream (a map) would sort the keys and write 1e+06.
	want := `{
  "name": "k8s-pod-network",
  "cniVersion": "0.3.1",
  "plugins": [
    {
      "type": "calico",
      "mtu": 1000000,
      "z": 1,
      "a": 2
    },
    {
      "type": "portmap"
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
	if string(out) != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
	again, err := patchList(out, []byte(ours), "linkerd-cni")
	if err != nil || again != nil {
		t.Fatalf("patching a patched list: %q, %v; want nothing to write", again, err)
	}
}

func TestPatchListReplacesStaleEntries(t *testing.T) {
	// An old configuration of ours in the middle, and a second copy: one
	// entry remains, ours, last.
	in := `{"plugins":[{"type":"linkerd-cni","old":true},{"type":"calico"},{"type":"linkerd-cni","old":2}]}`
	out, err := patchList([]byte(in), []byte(`{"type":"linkerd-cni","new":1}`), "linkerd-cni")
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"plugins\": [\n    {\n      \"type\": \"calico\"\n    },\n    {\n      \"type\": \"linkerd-cni\",\n      \"new\": 1\n    }\n  ]\n}\n"
	if string(out) != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
	// Ours last but a stale copy before it: still rewritten.
	in = `{"plugins":[{"type":"linkerd-cni","new":1},{"type":"calico"},{"type":"linkerd-cni","new":1}]}`
	out, err = patchList([]byte(in), []byte(`{"type":"linkerd-cni","new":1}`), "linkerd-cni")
	if err != nil || string(out) != want {
		t.Fatalf("got %q, %v; want\n%s", out, err, want)
	}
	// Ours, but not last (the pod network appended a plugin): moved last.
	in = `{"plugins":[{"type":"linkerd-cni","new":1},{"type":"calico"}]}`
	out, err = patchList([]byte(in), []byte(`{"type":"linkerd-cni","new":1}`), "linkerd-cni")
	if err != nil || string(out) != want {
		t.Fatalf("got %q, %v; want\n%s", out, err, want)
	}
}

func TestUpgradeConf(t *testing.T) {
	in := `{"cniVersion": "1.0.0", "name": "cilium", "type": "cilium-cni", "enable-debug": false}`
	out, err := upgradeConf([]byte(in), []byte(`{"type":"linkerd-cni"}`), "linkerd-cni")
	if err != nil {
		t.Fatal(err)
	}
	// The list keeps the .conf's name and version (upstream: k8s-pod-network, 0.3.1).
	want := `{
  "cniVersion": "1.0.0",
  "name": "cilium",
  "plugins": [
    {
      "name": "cilium",
      "type": "cilium-cni",
      "enable-debug": false
    },
    {
      "type": "linkerd-cni"
    }
  ]
}
`
	if string(out) != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
	// Without name and version: upstream's.
	out, err = upgradeConf([]byte(`{"type":"bridge"}`), []byte(`{"type":"linkerd-cni"}`), "linkerd-cni")
	want = "{\n  \"cniVersion\": \"0.3.1\",\n  \"name\": \"k8s-pod-network\",\n  \"plugins\": [\n    {\n      \"type\": \"bridge\"\n    },\n    {\n      \"type\": \"linkerd-cni\"\n    }\n  ]\n}\n"
	if err != nil || string(out) != want {
		t.Fatalf("got\n%s, %v\nwant\n%s", out, err, want)
	}
}

func TestUnpatchList(t *testing.T) {
	in := `{"plugins":[{"type":"calico"},{"type":"linkerd-cni"}],"cniVersion":"0.3.1"}`
	out, err := unpatchList([]byte(in), "linkerd-cni")
	want := "{\n  \"plugins\": [\n    {\n      \"type\": \"calico\"\n    }\n  ],\n  \"cniVersion\": \"0.3.1\"\n}\n"
	if err != nil || string(out) != want {
		t.Fatalf("got\n%s, %v\nwant\n%s", out, err, want)
	}
	if out, err := unpatchList([]byte(want), "linkerd-cni"); out != nil || err != nil {
		t.Fatalf("nothing of ours: got %q, %v", out, err)
	}
}

func TestMalformed(t *testing.T) {
	for _, doc := range []string{
		``, `{`, `[]`, `null`, `"x"`, `{"plugins":{}}`, `{"plugins":null}`, `{"cniVersion":"0.3.1"}`,
		`{"plugins":[1]}`, `{"plugins":[{"type":7}]}`, `{"plugins":[]} {}`, `{"plugins":[],"plugins":[]}`,
		`{"plugins":[{"type":"calico"}]`,
	} {
		out, err := patchList([]byte(doc), []byte(ours), "linkerd-cni")
		if !isMalformed(err) || out != nil {
			t.Errorf("patchList(%q) = %q, %v; want a MalformedError", doc, out, err)
		}
		if _, err := unpatchList([]byte(doc), "linkerd-cni"); !isMalformed(err) {
			t.Errorf("unpatchList(%q): %v; want a MalformedError", doc, err)
		}
	}
	if _, err := upgradeConf([]byte(`{"type":"linkerd-cni"}`), []byte(ours), "linkerd-cni"); err == nil || !strings.Contains(err.Error(), "our own type") {
		t.Errorf("a .conf of our type: %v", err)
	}
}
