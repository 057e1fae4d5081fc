package cniinstall

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
)

// kubeconfigMode: the file holds a bearer token for the plugin's service
// account; only root (the runtime that runs the plugin) reads it. Upstream's
// Go installer writes 0644, readable by every user on the node (its former
// shell installer wrote KUBECONFIG_MODE, 600 by default).
const kubeconfigMode = 0o600

// renderKubeconfig reads the service account's token and the CA and
// returns the kubeconfig, byte for byte upstream's (its template), but
// with cfg.Server's bracketed IPv6 address.
func renderKubeconfig(cfg *Config) ([]byte, error) {
	token, err := readNonEmpty(filepath.Join(cfg.ServiceAccountDir, "token"), "service account token")
	if err != nil {
		return nil, err
	}
	tls := "insecure-skip-tls-verify: true"
	if !cfg.SkipTLSVerify {
		ca, err := readNonEmpty(cfg.CAFile, "CA certificate (KUBE_CA_FILE)")
		if err != nil {
			return nil, err
		}
		tls = "certificate-authority-data: " + base64.StdEncoding.EncodeToString(ca)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `# kubeconfig file for linkerd.io/cni-plugin
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: %s
    %s
users:
- name: linkerd-cni
  user:
    token: %s
contexts:
- name: linkerd-cni-context
  context:
    cluster: local
    user: linkerd-cni
current-context: linkerd-cni-context`, cfg.Server, tls, token)
	return b.Bytes(), nil
}

// readNonEmpty reads a file and trims its surrounding space; an empty one
// is an error (upstream refuses it too: a kubeconfig without a token
// fails every pod).
func readNonEmpty(name, what string) ([]byte, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read the %s: %w", what, err)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, fmt.Errorf("read the %s: %s is empty", what, name)
	}
	return data, nil
}
