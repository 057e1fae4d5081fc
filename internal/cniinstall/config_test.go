package cniinstall

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoadDefaultsAndPaths(t *testing.T) {
	tr := newTree(t)
	c := tr.config(t)
	want := Config{
		HostBinDir: tr.bin, HostNetDir: tr.net, MountPrefix: tr.host, ContainerBinDir: tr.image,
		Kubeconfig:        filepath.Join(tr.net, "ZZZ-linkerd-cni-kubeconfig"),
		KubeconfigOnHost:  "/etc/cni/net.d/ZZZ-linkerd-cni-kubeconfig",
		ServiceAccountDir: tr.sa, CAFile: filepath.Join(tr.sa, "ca.crt"),
		Server: "https://10.96.0.1:443", KubeconfigMode: 0o600,
		Entry:     []byte(`{"name":"linkerd-cni","type":"linkerd-cni","kubernetes":{"kubeconfig":"/etc/cni/net.d/ZZZ-linkerd-cni-kubeconfig"}}`),
		EntryType: "linkerd-cni",
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got\n%+v\nwant\n%+v", c, want)
	}
	// Every variable of upstream's.
	must(t, os.MkdirAll(filepath.Join(tr.host, "cni/conf"), 0o755))
	must(t, os.MkdirAll(filepath.Join(tr.host, "cni/bin"), 0o755))
	tr.env["DEST_CNI_NET_DIR"] = "/cni/conf"
	tr.env["DEST_CNI_BIN_DIR"] = "/cni/bin"
	tr.env["KUBECONFIG_FILE_NAME"] = "kc"
	tr.env["KUBE_CA_FILE"] = "/some/ca.pem"
	c = tr.config(t)
	if c.HostNetDir != filepath.Join(tr.host, "cni/conf") || c.HostBinDir != filepath.Join(tr.host, "cni/bin") ||
		c.Kubeconfig != filepath.Join(tr.host, "cni/conf/kc") || c.KubeconfigOnHost != "/cni/conf/kc" ||
		c.CAFile != "/some/ca.pem" || !strings.Contains(string(c.Entry), `"kubeconfig":"/cni/conf/kc"`) {
		t.Fatalf("got %+v", c)
	}
}

func TestLoadServerIPv6(t *testing.T) {
	tr := newTree(t)
	tr.env["KUBERNETES_SERVICE_HOST"] = "fd00:10:96::1"
	tr.env["KUBERNETES_SERVICE_PORT"] = "6443"
	// Upstream writes https://fd00:10:96::1:6443, which no client parses.
	if got := tr.config(t).Server; got != "https://[fd00:10:96::1]:6443" {
		t.Fatalf("server %q", got)
	}
}

func TestLoadEntryFromFile(t *testing.T) {
	tr := newTree(t)
	f := filepath.Join(tr.root, "entry.json")
	must(t, os.WriteFile(f, []byte(`{"type": "proxy-init-cni", "k": "__KUBECONFIG_FILEPATH__"}`), 0o644))
	tr.env["CNI_NETWORK_CONFIG"] = ""
	tr.env["CNI_NETWORK_CONFIG_FILE"] = f
	c := tr.config(t)
	if string(c.Entry) != `{"type":"proxy-init-cni","k":"/etc/cni/net.d/ZZZ-linkerd-cni-kubeconfig"}` || c.EntryType != "proxy-init-cni" {
		t.Fatalf("entry %s type %s", c.Entry, c.EntryType)
	}
	// The variable wins over the file, as upstream.
	tr.env["CNI_NETWORK_CONFIG"] = `{"type":"linkerd-cni"}`
	if c := tr.config(t); c.EntryType != "linkerd-cni" {
		t.Fatalf("type %s", c.EntryType)
	}
}

func TestLoadRefusesBadSettings(t *testing.T) {
	for _, tc := range []struct {
		key, value, want string
	}{
		{"CNI_NETWORK_CONFIG", `{"type": "linkerd-cni",}`, `invalid CNI_NETWORK_CONFIG: not a JSON object`},
		{"CNI_NETWORK_CONFIG", `["linkerd-cni"]`, `invalid CNI_NETWORK_CONFIG: not a JSON object`},
		{"CNI_NETWORK_CONFIG", `{"name": "linkerd-cni"}`, `invalid CNI_NETWORK_CONFIG: needs a "type" string`},
		{"CNI_NETWORK_CONFIG", `{"type": 3}`, `invalid CNI_NETWORK_CONFIG: needs a "type" string`},
		{"CNI_NETWORK_CONFIG", `{"type": "linkerd-cni"} x`, `invalid CNI_NETWORK_CONFIG: not a JSON object`},
		{"CNI_NETWORK_CONFIG", ``, `invalid CNI_NETWORK_CONFIG: neither it nor CNI_NETWORK_CONFIG_FILE is set`},
		{"KUBERNETES_SERVICE_HOST", ``, `invalid KUBERNETES_SERVICE_HOST: not set`},
		{"KUBERNETES_SERVICE_PORT", ``, `invalid KUBERNETES_SERVICE_PORT: not set`},
		{"KUBERNETES_SERVICE_PORT", `https`, `invalid KUBERNETES_SERVICE_PORT "https": not a port number`},
		{"KUBERNETES_SERVICE_PORT", `70000`, `invalid KUBERNETES_SERVICE_PORT "70000": not a port number`},
		{"DEST_CNI_NET_DIR", `/nonexistent`, `invalid DEST_CNI_NET_DIR "`},
		{"KUBECONFIG_MODE", `0644x`, `invalid KUBECONFIG_MODE "0644x": not an octal file mode`},
		{"KUBECONFIG_MODE", `1777`, `invalid KUBECONFIG_MODE "1777": not an octal file mode`},
		{"SKIP_TLS_VERIFY", `yes`, `invalid SKIP_TLS_VERIFY "yes": must be true or false`},
		{"KUBERNETES_SERVICE_PROTOCOL", `ftp`, `invalid KUBERNETES_SERVICE_PROTOCOL "ftp": must be https or http`},
		{"CONTAINER_CNI_BIN_DIR", `/nonexistent`, `invalid CONTAINER_CNI_BIN_DIR "/nonexistent": cannot read the directory`},
	} {
		tr := newTree(t)
		tr.env[tc.key] = tc.value
		_, err := Load(tr.getenv, tr.sa)
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s=%q: got %v; want %q...", tc.key, tc.value, err, tc.want)
		}
	}
	tr := newTree(t)
	tr.env["CNI_NETWORK_CONFIG"] = ""
	tr.env["CNI_NETWORK_CONFIG_FILE"] = filepath.Join(tr.root, "missing.json")
	if _, err := Load(tr.getenv, tr.sa); err == nil || !strings.HasPrefix(err.Error(), `invalid CNI_NETWORK_CONFIG_FILE "`+tr.root+`/missing.json": cannot read it`) {
		t.Errorf("missing file: %v", err)
	}
	must(t, os.WriteFile(filepath.Join(tr.root, "bad.json"), []byte(`{`), 0o644))
	tr.env["CNI_NETWORK_CONFIG_FILE"] = filepath.Join(tr.root, "bad.json")
	if _, err := Load(tr.getenv, tr.sa); err == nil || !strings.HasPrefix(err.Error(), `invalid CNI_NETWORK_CONFIG_FILE `+tr.root+`/bad.json: not a JSON object`) {
		t.Errorf("bad file: %v", err)
	}
}
